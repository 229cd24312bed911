// OVSDB write throughput: one logical switch port created per transaction (insert + add to the
// switch, the switch's existence guarded by a wait; the port's name is a unique index), over one persistent connection, at 0 and at 10,000
// existing ports on the switch. Side by side in one run: our client (sequential and pipelined),
// our NorthboundWriter (read + write), ovn-nbctl processes, and Open vSwitch's Python IDL
// (the client OpenStack's ovsdbapp builds on) as a reference peer.
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

const exec = promisify(execFile);
const SWITCH = 'bench';
const SIZES = [0, 10_000];
const N = { sequential: 2000, pipelined: 4000, writer: 1000, nbctl: 30, pythonIdl: 1000 };
const PIPELINE = 16;

const mac = (i: number) =>
  `0a:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255, 0].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const ip = (i: number) => `10.${100 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
const spec = (name: string, i: number) =>
  podPortSpec({ switchName: SWITCH, name, mac: mac(i), ips: [ip(i)], pod: name, namespace: 'bench' });
const createOps = (name: string, i: number): Operation[] => [
  requireSwitch(SWITCH),
  ...createPortOps(spec(name, i)),
];

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
t0 = time.time()
for i in range(n):
    txn = ovs.db.idl.Transaction(idl)
    lsp = txn.insert(idl.tables['Logical_Switch_Port'])
    lsp.name = prefix + str(i)
    lsp.addresses = ['0a:00:00:00:00:01 10.200.0.1']
    ls.addvalue('ports', lsp)
    status = txn.commit_block()
    if status != ovs.db.idl.Transaction.SUCCESS:
        raise SystemExit('txn %d: %s %s' % (i, status, txn.get_error()))
print(n / (time.time() - t0))
`;

interface Row {
  size: number;
  who: string;
  n: number;
  rate: number;
}

async function timed(n: number, body: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await body();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export async function run() {
  const server = await startNbServer();
  const client = await OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound' });
  const nb = new NorthboundWriter(client);
  const cacheClient = await OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound' });
  const cached = new NorthboundWriter(cacheClient, { portCache: await PortCache.start(cacheClient) });
  const dir = makeTempDir('vipres-bench-');
  const py = join(dir, 'idl_bench.py');
  writeFileSync(py, PYTHON_IDL);
  const rows: Row[] = [];
  let serial = 0;

  // Removes every port whose name starts with `prefix`, so each contender starts from the same size.
  const removePrefix = async (prefix: string) => {
    const [r] = await client.transact([op.select('Logical_Switch_Port', [], ['_uuid', 'name'])]);
    const uuids = (r?.rows ?? [])
      .filter((row) => String(row.name).startsWith(prefix))
      .map((row) => String(row._uuid));
    for (let i = 0; i < uuids.length; i += 200) {
      await client.transact(uuids.slice(i, i + 200).flatMap((u) => deletePortOps(u)));
    }
  };

  try {
    await nb.ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
    let filled = 0;
    for (const size of SIZES) {
      // Fill with 250 ports per transaction, a few transactions in flight.
      while (filled < size) {
        const batch: Promise<unknown>[] = [];
        for (let k = 0; k < 4 && filled < size; k++) {
          const ops: Operation[] = [];
          for (let j = 0; j < 250 && filled < size; j++, filled++) {
            ops.push(...createPortOps(spec(`fill-${filled}`, 1_000_000 + filled), `p${j}`));
          }
          batch.push(client.transact(ops));
        }
        await Promise.all(batch);
      }

      const seqRate = await timed(N.sequential, async () => {
        for (let i = 0; i < N.sequential; i++) await client.transact(createOps(`seq-${i}`, serial++));
      });
      rows.push({ size, who: 'this client, 1 txn at a time', n: N.sequential, rate: seqRate });
      await removePrefix('seq-');

      const pipeRate = await timed(N.pipelined, async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: PIPELINE }, async () => {
            while (next < N.pipelined) {
              const i = next++;
              await client.transact(createOps(`pipe-${i}`, serial++));
            }
          }),
        );
      });
      rows.push({ size, who: `this client, ${PIPELINE} txns in flight`, n: N.pipelined, rate: pipeRate });
      await removePrefix('pipe-');

      const writerRate = await timed(N.writer, async () => {
        for (let i = 0; i < N.writer; i++) {
          serial++;
          await nb.ensurePort({
            switchName: SWITCH,
            name: `wr-${i}`,
            mac: mac(serial),
            ips: [ip(serial)],
            pod: 'p',
            namespace: 'bench',
          });
        }
      });
      rows.push({ size, who: 'NorthboundWriter.ensurePort, server reads', n: N.writer, rate: writerRate });
      await removePrefix('wr-');

      const cachedRate = await timed(N.writer, async () => {
        for (let i = 0; i < N.writer; i++) {
          serial++;
          await cached.ensurePort({
            switchName: SWITCH,
            name: `wc-${i}`,
            mac: mac(serial),
            ips: [ip(serial)],
            pod: 'p',
            namespace: 'bench',
          });
        }
      });
      rows.push({ size, who: 'NorthboundWriter.ensurePort, PortCache', n: N.writer, rate: cachedRate });
      await removePrefix('wc-');

      const nbctlRate = await timed(N.nbctl, async () => {
        for (let i = 0; i < N.nbctl; i++) {
          const s = spec(`ctl-${i}`, serial++);
          await nbctl(
            server.remote,
            'lsp-add',
            SWITCH,
            s.name,
            '--',
            'lsp-set-addresses',
            s.name,
            s.addresses[0]!,
          );
        }
      });
      rows.push({ size, who: 'ovn-nbctl, 1 process per txn', n: N.nbctl, rate: nbctlRate });
      await removePrefix('ctl-');

      try {
        const { stdout } = await exec(
          '/usr/bin/python3',
          [py, server.remote, NB_SCHEMA, SWITCH, String(N.pythonIdl), 'py-'],
          { timeout: 120_000 },
        );
        rows.push({ size, who: 'OVS Python IDL (reference)', n: N.pythonIdl, rate: Number(stdout.trim()) });
      } catch (err) {
        console.log(`python IDL skipped: ${(err as Error).message.split('\n')[0]}`);
      }
      await removePrefix('py-');
    }
  } finally {
    client.close();
    cacheClient.close();
    await server.stop();
  }

  const ref = (size: number, who: string) => rows.find((r) => r.size === size && r.who.startsWith(who))?.rate;
  console.log(
    '\nOne logical switch port created per transaction, over one connection (txn/s, higher is better)',
  );
  console.log(
    `${'existing ports'.padEnd(15)}${'contender'.padEnd(46)}${'txns'.padStart(6)}${'txn/s'.padStart(10)}${'vs nbctl'.padStart(10)}${'vs py IDL'.padStart(11)}`,
  );
  for (const r of rows) {
    const nbctlRate = ref(r.size, 'ovn-nbctl');
    const pyRate = ref(r.size, 'OVS Python');
    console.log(
      `${String(r.size).padEnd(15)}${r.who.padEnd(46)}${String(r.n).padStart(6)}${r.rate.toFixed(0).padStart(10)}${(nbctlRate ? `${(r.rate / nbctlRate).toFixed(1)}x` : '-').padStart(10)}${(pyRate ? `${(r.rate / pyRate).toFixed(2)}x` : '-').padStart(11)}`,
    );
  }
  for (const who of ['this client, 1', 'this client, 16']) {
    const [a, b] = SIZES.map((s) => ref(s, who));
    if (a && b)
      console.log(`${who}...: ${(b / a).toFixed(2)} of its rate kept from ${SIZES[0]} to ${SIZES[1]} ports`);
  }
}
