// OVSDB write throughput: one logical switch port created per transaction (insert + add to the
// switch, the switch's existence guarded by a wait; the port's name is a unique index), over one
// persistent connection, at 0, 10,000 and 50,000 existing ports on the switch. Side by side in one
// run: our client (one transaction at a time; the same into an empty second switch, with a
// PortCache monitor open in this process, with 16 ports per transaction, and pipelined), our
// NorthboundWriter (read + write), ovn-nbctl processes, and Open vSwitch's Python IDL (the client
// OpenStack's ovsdbapp builds on) as a reference peer. Each row also shows the CPU per transaction
// of ovsdb-server (/proc/<pid>/stat) and of the client, which is where a loss with size shows up.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, NB_SCHEMA, nbctl, startNbServer } from '../infra/local/services.ts';
import {
  createPortOps,
  NorthboundWriter,
  PortCache,
  podPortSpec,
  requireSwitch,
} from '../shared/ovn/nb/index.ts';
import { deletePortOps } from '../shared/ovn/nb/ops/logical-switch-port.ts';
import { type Operation, OvsdbClient, op } from '../shared/ovsdb/index.ts';
import { cpuPerUnit, machineBusy, sampleCpu } from './cpu.ts';

const exec = promisify(execFile);
const SWITCH = 'bench';
const SIZES = [0, 10_000, 50_000];
const PIPELINE = 16;
/** Ports per transaction of the batched row: the server's per-transaction cost paid once per batch. */
const BATCH = 16;
const OTHER_SWITCH = 'bench-empty';
/** Transactions per contender; the slow ones (a server scan or a whole-DB download per txn) run fewer at size. */
const fixed = (n: number) => (_size: number) => n;
const N = {
  sequential: fixed(3000),
  otherSwitch: fixed(3000),
  batched: fixed(4000),
  monitored: fixed(3000),
  pipelined: fixed(4000),
  writer: (size: number) => (size >= 50_000 ? 200 : size >= 10_000 ? 500 : 1000),
  cached: fixed(1000),
  nbctl: (size: number) => (size >= 50_000 ? 8 : 30),
  pythonIdl: fixed(1000),
};
/** Ports per fill transaction: big transactions reach 50,000 in seconds (the server's per-txn cost grows with the set). */
const FILL_BATCH = 1000;
/** Each rate is the best of this many consecutive rounds (the Python IDL's too). */
const ROUNDS = 5;

const mac = (i: number) =>
  `0a:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 0].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const ip = (i: number) => `10.${100 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const spec = (name: string, i: number) =>
  podPortSpec({ switchName: SWITCH, name, mac: mac(i), ips: [ip(i)], pod: name, namespace: 'bench' });
const createOps = (name: string, i: number): Operation[] => [
  requireSwitch(SWITCH),
  ...createPortOps(spec(name, i)),
];

// Prints its best round's rate and its own CPU per transaction (process_time: this process only).
const PYTHON_IDL = `
import sys, time
import ovs.db.idl, ovs.poller
remote, schema, ls_name, n, prefix = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_table('Logical_Switch')
helper.register_table('Logical_Switch_Port')
idl = ovs.db.idl.Idl(remote, helper)
def switch():
    for r in idl.tables['Logical_Switch'].rows.values():
        if r.name == ls_name:
            return r
while switch() is None:
    idl.run()
    p = ovs.poller.Poller(); idl.wait(p); p.block()
ls = switch()
rounds = int(sys.argv[6])
best, c0 = 0, time.process_time()
for r in range(rounds):
    lo, hi = r * n // rounds, (r + 1) * n // rounds
    t0 = time.time()
    for i in range(lo, hi):
        for attempt in range(50):
            txn = ovs.db.idl.Transaction(idl)
            lsp = txn.insert(idl.tables['Logical_Switch_Port'])
            lsp.name = prefix + str(i)
            lsp.addresses = ['0a:00:00:00:00:01 10.200.0.1']
            ls.addvalue('ports', lsp)
            status = txn.commit_block()
            if status != ovs.db.idl.Transaction.TRY_AGAIN:
                break
            # The IDL reconnected or fell behind (as ovsdbapp does): catch up, then retry.
            idl.run(); p = ovs.poller.Poller(); idl.wait(p); p.timer_wait(10); p.block()
            ls = switch()
        if status != ovs.db.idl.Transaction.SUCCESS:
            raise SystemExit('txn %d: %s %s' % (i, status, txn.get_error()))
    best = max(best, (hi - lo) / (time.time() - t0))
print(best, (time.process_time() - c0) / n * 1e6)
`;

interface Row {
  size: number;
  who: string;
  n: number;
  rate: number;
  /** CPU microseconds per transaction of ovsdb-server and of the client process. */
  serverUs: number;
  clientUs?: number;
}

const WHO = {
  sequential: 'this client, 1 txn at a time',
  otherSwitch: 'the same, into an empty second switch',
  batched: `this client, ${BATCH} ports per txn (ports/s)`,
  monitored: 'this client, 1 at a time, + PortCache monitor',
  pipelined: `this client, ${PIPELINE} txns in flight`,
  writer: 'NorthboundWriter.ensurePort, server reads',
  cached: 'NorthboundWriter.ensurePort, PortCache',
  nbctl: 'ovn-nbctl, 1 process per txn',
  pythonIdl: 'OVS Python IDL (reference)',
};

export async function run() {
  const server = await startNbServer();
  const client = await OvsdbClient.connect({
    remotes: [server.remote],
    database: 'OVN_Northbound',
    requestTimeoutMs: 60_000,
  });
  const nb = new NorthboundWriter(client);
  const dir = makeTempDir('vipres-bench-');
  const py = join(dir, 'idl_bench.py');
  writeFileSync(py, PYTHON_IDL);
  const rows: Row[] = [];
  const cacheLoadMs: Record<number, number> = {};
  const fillSeconds: Record<number, number> = {};
  let serial = 0;
  const machineAtStart = machineBusy();

  // Removes every port whose name starts with `prefix`, so each contender starts from the same size.
  const removePrefix = async (prefix: string) => {
    const [r] = await client.transact([op.select('Logical_Switch_Port', [], ['_uuid', 'name'])]);
    const uuids = (r?.rows ?? [])
      .filter((row) => String(row.name).startsWith(prefix))
      .map((row) => String(row._uuid));
    for (let i = 0; i < uuids.length; i += 500) {
      await client.transact(uuids.slice(i, i + 500).flatMap((u) => deletePortOps(u)));
    }
  };

  // Runs `body` over transactions [0, n) in ROUNDS consecutive rounds and records the best round's
  // rate (the machine is shared: the best round is the least disturbed one) and the CPU per
  // transaction over all of them.
  const measure = async (
    size: number,
    who: string,
    n: number,
    body: (from: number, to: number) => Promise<void>,
    self = true,
  ) => {
    const before = sampleCpu({ server: server.pid });
    let best = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const from = Math.floor((r * n) / ROUNDS);
      const to = Math.floor(((r + 1) * n) / ROUNDS);
      const t0 = process.hrtime.bigint();
      await body(from, to);
      best = Math.max(best, (to - from) / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    const cpu = cpuPerUnit(before, sampleCpu({ server: server.pid }), n);
    const row: Row = { size, who, n, rate: best, serverUs: (cpu.server ?? 0) * 1000 };
    if (self) row.clientUs = (cpu.self ?? 0) * 1000;
    rows.push(row);
    return row;
  };

  const sequential = (prefix: string) => async (from: number, to: number) => {
    for (let i = from; i < to; i++) await client.transact(createOps(`${prefix}${i}`, serial++));
  };
  const ensureAll = (writer: NorthboundWriter, prefix: string) => async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      serial++;
      await writer.ensurePort({
        switchName: SWITCH,
        name: `${prefix}${i}`,
        mac: mac(serial),
        ips: [ip(serial)],
        pod: 'p',
        namespace: 'bench',
      });
    }
  };

  try {
    await nb.ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
    await nb.ensureLogicalSwitch({ name: OTHER_SWITCH, cidrBlock: '10.200.0.0/16' });
    // Warm up (JIT, the server's allocator) so the first size is not measured cold.
    await sequential('warm-')(0, 2000);
    await ensureAll(nb, 'warmw-')(0, 500);
    await removePrefix('warm');

    let filled = 0;
    for (const size of SIZES) {
      const t0 = Date.now();
      while (filled < size) {
        const batch: Promise<unknown>[] = [];
        for (let k = 0; k < 4 && filled < size; k++) {
          const ops: Operation[] = [];
          for (let j = 0; j < FILL_BATCH && filled < size; j++, filled++) {
            ops.push(...createPortOps(spec(`fill-${filled}`, 1_000_000 + filled), `p${j}`));
          }
          batch.push(client.transact(ops));
        }
        await Promise.all(batch);
      }
      fillSeconds[size] = (Date.now() - t0) / 1000;

      await measure(size, WHO.sequential, N.sequential(size), sequential('seq-'));
      await removePrefix('seq-');

      // The database holds as many ports, but the switch written to is empty: what grows is the
      // cost of the one switch's `ports` set, not of the database.
      const nOther = N.otherSwitch(size);
      await measure(size, WHO.otherSwitch, nOther, async (from, to) => {
        for (let i = from; i < to; i++) {
          const s = { ...spec(`oth-${i}`, serial++), switchName: OTHER_SWITCH };
          await client.transact([requireSwitch(OTHER_SWITCH), ...createPortOps(s)]);
        }
      });
      await removePrefix('oth-');

      // Several ports per transaction, one transaction at a time (rate in ports/s; CPU per port).
      const nBatched = N.batched(size);
      await measure(size, WHO.batched, nBatched, async (from, to) => {
        for (let i = from; i < to; i += BATCH) {
          const ops: Operation[] = [requireSwitch(SWITCH)];
          for (let j = i; j < Math.min(i + BATCH, to); j++) {
            ops.push(...createPortOps(spec(`bat-${j}`, serial++), `p${j}`));
          }
          await client.transact(ops);
        }
      });
      await removePrefix('bat-');

      // The same, with a monitor of every port open in this process (as a long-lived function
      // keeps): the server's update fan-out and the cache's apply are added to each transaction.
      {
        const monClient = await OvsdbClient.connect({
          remotes: [server.remote],
          database: 'OVN_Northbound',
          requestTimeoutMs: 60_000,
        });
        const started = performance.now();
        const cache = await PortCache.start(monClient);
        cacheLoadMs[size] = performance.now() - started;
        await measure(size, WHO.monitored, N.monitored(size), sequential('mon-'));
        await removePrefix('mon-');

        const cached = new NorthboundWriter(monClient, { portCache: cache });
        await measure(size, WHO.cached, N.cached(size), ensureAll(cached, 'wc-'));
        await removePrefix('wc-');
        await cache.close();
        monClient.close();
      }

      const nPipe = N.pipelined(size);
      await measure(size, WHO.pipelined, nPipe, async (from, to) => {
        let next = from;
        await Promise.all(
          Array.from({ length: PIPELINE }, async () => {
            while (next < to) {
              const i = next++;
              await client.transact(createOps(`pipe-${i}`, serial++));
            }
          }),
        );
      });
      await removePrefix('pipe-');

      await measure(size, WHO.writer, N.writer(size), ensureAll(nb, 'wr-'));
      await removePrefix('wr-');

      const nCtl = N.nbctl(size);
      await measure(
        size,
        WHO.nbctl,
        nCtl,
        async (from, to) => {
          for (let i = from; i < to; i++) {
            const s = spec(`ctl-${i}`, serial++);
            await nbctl(
              server.remote,
              '--timeout=60',
              'lsp-add',
              SWITCH,
              s.name,
              '--',
              'lsp-set-addresses',
              s.name,
              s.addresses[0]!,
            );
          }
        },
        false,
      );
      await removePrefix('ctl-');

      try {
        const nPy = N.pythonIdl(size);
        const before = sampleCpu({ server: server.pid });
        const { stdout } = await exec(
          '/usr/bin/python3',
          [py, server.remote, NB_SCHEMA, SWITCH, String(nPy), 'py-', String(ROUNDS)],
          { timeout: 300_000 },
        );
        // The server's CPU here includes sending the IDL its initial copy of the database.
        const cpu = cpuPerUnit(before, sampleCpu({ server: server.pid }), nPy);
        const [rate, clientUs] = stdout.trim().split(/\s+/).map(Number);
        rows.push({
          size,
          who: WHO.pythonIdl,
          n: nPy,
          rate: rate ?? 0,
          serverUs: (cpu.server ?? 0) * 1000,
          ...(clientUs !== undefined && { clientUs }),
        });
      } catch (err) {
        const e = err as Error & { stderr?: string };
        const why = (e.stderr ?? '').trim().split('\n').pop() || e.message.split('\n')[0];
        console.log(`python IDL skipped at ${size} ports: ${why}`);
      }
      await removePrefix('py-');
    }
  } finally {
    client.close();
    await server.stop();
  }
  printTable(rows, { cacheLoadMs, fillSeconds, machineShare: machineBusy(machineAtStart).share });
}

function printTable(
  rows: Row[],
  extra: { cacheLoadMs: Record<number, number>; fillSeconds: Record<number, number>; machineShare: number },
) {
  const rate = (size: number, who: string) => rows.find((r) => r.size === size && r.who === who)?.rate;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
  const k = (n: number) => (n === 0 ? '0' : `${n / 1000}k`);
  const [s0, s1, s2] = SIZES as [number, number, number];

  console.log(
    `\nOne logical switch port created per transaction, over one connection (txn/s, best of ${ROUNDS} rounds, higher is better;` +
      ` "kept" = rate at size / rate at 0; "vs py" = rate / the Python IDL's at that size)`,
  );
  const head = [
    'contender'.padEnd(48),
    ...SIZES.map((s) => `@${k(s)}`.padStart(8)),
    `kept ${k(s1)}`.padStart(10),
    `kept ${k(s2)}`.padStart(10),
    ...SIZES.map((s) => `vs py ${k(s)}`.padStart(11)),
  ];
  console.log(head.join(''));
  for (const who of Object.values(WHO)) {
    const r = SIZES.map((s) => rate(s, who));
    const py = SIZES.map((s) => rate(s, WHO.pythonIdl));
    console.log(
      [
        who.padEnd(48),
        ...r.map((x) => (x === undefined ? '-' : x.toFixed(0)).padStart(8)),
        ratio(r[1], r[0]).padStart(10),
        ratio(r[2], r[0]).padStart(10),
        ...r.map((x, i) => ratio(x, py[i]).padStart(11)),
      ].join(''),
    );
  }

  console.log(
    '\nCPU per transaction (per port in the batched row), microseconds: ovsdb-server / the client process (- = not measured)',
  );
  console.log(['contender'.padEnd(48), ...SIZES.map((s) => `@${k(s)}`.padStart(14))].join(''));
  for (const who of Object.values(WHO)) {
    const cells = SIZES.map((s) => {
      const r = rows.find((x) => x.size === s && x.who === who);
      if (!r) return '-';
      return `${r.serverUs.toFixed(0)} / ${r.clientUs === undefined ? '-' : r.clientUs.toFixed(0)}`;
    });
    console.log([who.padEnd(48), ...cells.map((c) => c.padStart(14))].join(''));
  }
  console.log(
    `\nfill to ${k(s1)} / ${k(s2)} ports (${FILL_BATCH} per txn, 4 in flight): ` +
      `${extra.fillSeconds[s1]?.toFixed(1)} s / ${extra.fillSeconds[s2]?.toFixed(1)} s; ` +
      `PortCache initial load at ${SIZES.map((s) => `${k(s)} ${extra.cacheLoadMs[s]?.toFixed(0)} ms`).join(', ')}; ` +
      `machine busy ${(extra.machineShare * 100).toFixed(0)}% of both cores over the run (other work included)`,
  );
  // One transaction at a time, client and server work in turn: 1 / (their CPU per txn) is the rate
  // the pair would reach with a core each and nothing else running, which a shared machine's wall
  // clock cannot show steadily.
  const byCpu = SIZES.map((s) => {
    const r = rows.find((x) => x.size === s && x.who === WHO.sequential);
    return r && r.clientUs !== undefined ? 1e6 / (r.serverUs + r.clientUs) : undefined;
  });
  console.log(
    `${WHO.sequential}, by CPU per txn (1e6 / (server + client us)): ` +
      `${byCpu.map((x, i) => `${x?.toFixed(0) ?? '-'}/s at ${k(SIZES[i]!)}`).join(', ')}; ` +
      `kept ${ratio(byCpu[1], byCpu[0])} at ${k(s1)}, ${ratio(byCpu[2], byCpu[0])} at ${k(s2)}`,
  );
  const seq = SIZES.map((s) => rate(s, WHO.sequential));
  const py = SIZES.map((s) => rate(s, WHO.pythonIdl));
  console.log(
    `${WHO.sequential}: ${ratio(seq[1], seq[0])} of its rate kept from ${s0} to ${s1} ports, ` +
      `${ratio(seq[1], py[1])} / ${ratio(seq[2], py[2])} the Python IDL at ${s1} / ${s2}`,
  );
}
