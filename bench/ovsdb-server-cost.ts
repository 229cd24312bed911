// Where ovsdb-server's CPU per transaction grows with a switch's `ports` set, from the client side.
// One port per transaction (the OVSDB bench's workload) at 0 and 10,000 ports on the switch, with
// the transaction phrased several ways, with monitors of Logical_Switch open or not, and against
// differently run servers (database on tmpfs, --disable-file-column-diff, after compaction, other
// ovsdb-server builds). Each line: the server's CPU per transaction (/proc/<pid>/stat), this
// process's, and the best of 3 rounds' rate.
//   npx tsx bench/ovsdb-server-cost.ts                # Debian's ovsdb-server, every variant
//   OVSDB_SERVERS=3.1.0-g=/path/ovsdb-server,3.7.0=/path/ovsdb-server npx tsx bench/ovsdb-server-cost.ts
//   ONLY=default,tmpfs SIZES=0,10000 N=2000 npx tsx bench/ovsdb-server-cost.ts
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  type OvsdbServerOptions,
  startNbRaft,
  startNbServer,
  startOvsdbServer,
} from '../infra/local/services.ts';
import {
  createPortOps,
  createPortsOps,
  NorthboundWriter,
  PortCache,
  type PortSpec,
  podPortSpec,
  requireSwitch,
} from '../shared/ovn/nb/index.ts';
import { deletePortOps } from '../shared/ovn/nb/ops/logical-switch-port.ts';
import {
  mutation,
  namedUuid,
  type Operation,
  OvsdbClient,
  op,
  set,
  uuid,
  where,
  whereUuid,
} from '../shared/ovsdb/index.ts';
import { cpuPerUnit, sampleCpu } from './cpu.ts';

const exec = promisify(execFile);
const SIZES = (process.env.SIZES ?? '0,10000').split(',').map(Number);
const N = Number(process.env.N ?? 2000);
const ROUNDS = 3;
const SWITCH = 'probe';
const EMPTY = 'probe-empty';

const spec = (name: string, i: number, switchName = SWITCH) =>
  podPortSpec({
    switchName,
    name,
    mac: '0a:00:00:00:00:01',
    ips: [`10.${100 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`],
    pod: name,
    namespace: 'probe',
  });

interface ServerVariant {
  label: string;
  opts: () => OvsdbServerOptions;
  /** Compact the database file after each fill. */
  compact?: boolean;
}

const variants: ServerVariant[] = [
  { label: 'default (file on disk)', opts: () => ({}) },
  { label: 'file on tmpfs (/dev/shm)', opts: () => ({ dir: mkdtempSync('/dev/shm/vipres-nb-') }) },
  { label: '--disable-file-column-diff', opts: () => ({ extraArgs: ['--disable-file-column-diff'] }) },
  { label: 'compacted after the fill', opts: () => ({}), compact: true },
];
/** Other ovsdb-server builds to compare, `label=/path/ovsdb-server`. */
const builds = (process.env.OVSDB_SERVERS ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => entry.split('=') as [string, string]);
for (const [label, binary] of builds)
  variants.push({ label: `ovsdb-server ${label}`, opts: () => ({ binary }) });
const only = process.env.ONLY?.split(',');
const chosen = only ? variants.filter((v) => only.some((o) => v.label.includes(o))) : variants;

async function probeServer(v: ServerVariant) {
  const o = v.opts();
  const server = o.dir || o.binary || o.extraArgs ? await startOvsdbServer(o) : await startNbServer();
  const connect = () =>
    OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound', requestTimeoutMs: 60_000 });
  const client = await connect();
  const { stdout: version } = await exec(o.binary ?? 'ovsdb-server', ['--version']);
  console.log(`\n## ${v.label}: ${version.split('\n')[0]}, ${server.dbFile}`);
  let serial = 0;
  try {
    const nb = new NorthboundWriter(client);
    await nb.ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
    await nb.ensureLogicalSwitch({ name: EMPTY, cidrBlock: '10.200.0.0/16' });
    const [sw] = await client.transact([
      op.select('Logical_Switch', [where('name', '==', SWITCH)], ['_uuid']),
    ]);
    const switchUuid = String(sw?.rows?.[0]?._uuid);

    const removePrefix = async (prefix: string) => {
      const [r] = await client.transact([op.select('Logical_Switch_Port', [], ['_uuid', 'name'])]);
      const uuids = (r?.rows ?? [])
        .filter((row) => String(row.name).startsWith(prefix))
        .map((row) => String(row._uuid));
      for (let i = 0; i < uuids.length; i += 500)
        await client.transact(uuids.slice(i, i + 500).flatMap((u) => deletePortOps(u)));
    };

    // The shapes: the bench's, and what a client could send instead for the same effect.
    const shapes: Record<string, (name: string) => Operation[] | Promise<Operation[]>> = {
      'bench shape: wait switch + insert + mutate ports (where name)': (name) => [
        requireSwitch(SWITCH),
        ...createPortOps(spec(name, serial++)),
      ],
      'no wait: insert + mutate (where name)': (name) => createPortOps(spec(name, serial++)),
      'mutate where _uuid': (name) => [
        op.insert('Logical_Switch_Port', { name, addresses: set(['0a:00:00:00:00:01 10.100.0.1']) }, 'p'),
        op.mutate(
          'Logical_Switch',
          [whereUuid(switchUuid)],
          [mutation('ports', 'insert', set([namedUuid('p')]))],
        ),
      ],
      'into the empty second switch (reference)': (name) => [
        requireSwitch(EMPTY),
        ...createPortOps(spec(name, serial++, EMPTY)),
      ],
    };

    const measure = async (size: number, label: string, n: number, body: (i: number) => Promise<unknown>) => {
      const before = sampleCpu({ server: server.pid });
      let best = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const from = Math.floor((r * n) / ROUNDS);
        const to = Math.floor(((r + 1) * n) / ROUNDS);
        const t0 = performance.now();
        for (let i = from; i < to; i++) await body(i);
        best = Math.max(best, (to - from) / ((performance.now() - t0) / 1000));
      }
      const cpu = cpuPerUnit(before, sampleCpu({ server: server.pid }), n);
      const us = (x: number | undefined) => ((x ?? 0) * 1000).toFixed(0).padStart(5);
      console.log(
        `@${String(size).padStart(6)}  ${label.padEnd(66)} server ${us(cpu.server)} us/txn, client ${us(cpu.self)} us/txn, ${best.toFixed(0).padStart(6)} txn/s`,
      );
    };

    let filled = 0;
    for (const size of SIZES) {
      while (filled < size) {
        const ops: Operation[] = [];
        for (let j = 0; j < 1000 && filled < size; j++, filled++)
          ops.push(...createPortOps(spec(`fill-${filled}`, 1_000_000 + filled), `p${j}`));
        await client.transact(ops);
      }
      if (v.compact) await exec('ovs-appctl', ['-t', server.ctl, 'ovsdb-server/compact']);
      const fileMb = (statSync(server.dbFile).size / 1e6).toFixed(1);
      console.log(`@${String(size).padStart(6)}  (database file ${fileMb} MB)`);

      for (const [label, shape] of Object.entries(shapes)) {
        await measure(size, label, N, async (i) => client.transact(await shape(`s-${i}`)));
        await removePrefix('s-');
      }

      // Replacing the whole set (update) instead of a one-uuid mutate: the client sends and the
      // server parses, sorts and compares every uuid (this client's cache of the set is kept here).
      {
        const [r] = await client.transact([op.select('Logical_Switch', [whereUuid(switchUuid)], ['ports'])]);
        const raw = r?.rows?.[0]?.ports;
        const ports: string[] =
          raw === undefined
            ? []
            : raw instanceof Object && 'values' in raw
              ? (raw.values as unknown[]).map(String)
              : [String(raw)];
        const nUpdate = Math.max(100, Math.min(N, size > 0 ? 300 : N));
        await measure(size, 'update ports = whole set (+ insert)', nUpdate, async (i) => {
          const [, ins] = await client.transact([
            op.wait('Logical_Switch', [whereUuid(switchUuid)], ['ports'], [{ ports: set(ports.map(uuid)) }]),
            op.insert('Logical_Switch_Port', { name: `u-${i}` }, 'p'),
            op.update('Logical_Switch', [whereUuid(switchUuid)], {
              ports: set([...ports.map(uuid), namedUuid('p')]),
            }),
          ]);
          ports.push(String(ins?.uuid));
        });
        await removePrefix('u-');
      }

      // A monitor of Logical_Switch open on another connection (ovn-northd keeps one with `ports`).
      for (const [label, columns] of [
        ['+ a monitor of Logical_Switch with ports', ['name', 'ports']],
        ['+ a monitor of Logical_Switch without ports', ['name', 'other_config']],
      ] as const) {
        const mon = await connect();
        let updates = 0;
        const m = await mon.monitor({
          tables: { Logical_Switch: { columns: [...columns] } },
          onUpdate: () => {
            updates++;
          },
        });
        await measure(size, label, N, async (i) =>
          client.transact(await shapes[Object.keys(shapes)[0]!]!(`m-${i}`)),
        );
        await m.cancel();
        mon.close();
        await removePrefix('m-');
        if (updates === 0) console.log('   (no monitor update arrived)');
      }
    }
  } finally {
    client.close();
    await server.stop();
    // A directory given to the server is not removed with it.
    if (o.dir) rmSync(o.dir, { recursive: true, force: true });
  }
}

for (const v of chosen) await probeServer(v);

// Concurrent creations and deletions through the writer (with a PortCache, so no reads): 16
// callers at once, coalesced into shared transactions (one mutate of `ports` each), against the
// same callers one at a time and the raw client's 16 one-port transactions in flight (what the
// writer sent before).
if (!only || only.includes('coalesce')) {
  const server = await startNbServer();
  const client = await OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound' });
  const cache = await PortCache.start(client);
  const writer = new NorthboundWriter(client, { portCache: cache });
  try {
    console.log('\n## 16 concurrent creators, then deleters, default server');
    await writer.ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
    let filled = 0;
    let serial = 0;
    for (const size of SIZES) {
      while (filled < size) {
        const ops: Operation[] = [];
        for (let j = 0; j < 1000 && filled < size; j++, filled++)
          ops.push(...createPortOps(spec(`fill-${filled}`, 1_000_000 + filled), `p${j}`));
        await client.transact(ops);
      }
      const run = async (label: string, body: () => Promise<void>) => {
        const before = sampleCpu({ server: server.pid });
        const t0 = performance.now();
        await body();
        const rate = N / ((performance.now() - t0) / 1000);
        const cpu = cpuPerUnit(before, sampleCpu({ server: server.pid }), N);
        console.log(
          `@${String(size).padStart(6)}  ${label.padEnd(66)} server ${((cpu.server ?? 0) * 1000).toFixed(0).padStart(5)} us/port, client ${((cpu.self ?? 0) * 1000).toFixed(0).padStart(5)} us/port, ${rate.toFixed(0).padStart(6)} ports/s`,
        );
        const [r] = await client.transact([op.select('Logical_Switch_Port', [], ['_uuid', 'name'])]);
        const gone = (r?.rows ?? [])
          .filter((row) => String(row.name).startsWith('c-'))
          .map((row) => String(row._uuid));
        for (let i = 0; i < gone.length; i += 500)
          await client.transact(gone.slice(i, i + 500).flatMap((u) => deletePortOps(u)));
      };
      const input = (i: number) => ({
        switchName: SWITCH,
        name: `c-${serial++}`,
        mac: '0a:00:00:00:00:02',
        ips: [`10.120.${(i >> 8) & 255}.${i & 255}`],
        pod: `c-${i}`,
        namespace: 'probe',
      });
      const concurrently = (n: number, one: (i: number) => Promise<unknown>) => async () => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < n) await one(next++);
          }),
        );
      };
      await run('writer.ensurePort, 1 caller at a time', async () => {
        for (let i = 0; i < N; i++) await writer.ensurePort(input(i));
      });
      await run(
        'raw client, 16 one-port transactions in flight (the writer before)',
        concurrently(N, (i) => {
          const s = podPortSpec(input(i));
          return client.transact([requireSwitch(SWITCH), ...createPortOps(s)]);
        }),
      );
      const sent0 = { ...writer.creates.sent };
      await run(
        'writer.ensurePort, 16 callers at once (coalesced)',
        concurrently(N, (i) => writer.ensurePort(input(i))),
      );
      const t = writer.creates.sent.transactions - sent0.transactions;
      console.log(
        `          (${t} transactions, ${((writer.creates.sent.ports - sent0.ports) / t).toFixed(1)} ports each)`,
      );

      // 16 ports per transaction, one caller: a mutate of `ports` per port, or one for all 16.
      for (const [label, opsOf] of [
        [
          '16 ports per txn, a mutate each (per port)',
          (specs: PortSpec[]) => specs.flatMap((sp, j) => createPortOps(sp, `p${j}`)),
        ],
        ['16 ports per txn, one mutate (per port)', (specs: PortSpec[]) => createPortsOps(SWITCH, specs)],
      ] as const) {
        await run(label, async () => {
          for (let k = 0; k < N; k += 16) {
            const specs = Array.from({ length: Math.min(16, N - k) }, (_, j) => podPortSpec(input(k + j)));
            await client.transact([requireSwitch(SWITCH), ...opsOf(specs)]);
          }
        });
      }

      // Deletions: N ports made 100 per transaction (not measured), then deleted by 16 callers.
      const made = async () => {
        const names: string[] = [];
        for (let k = 0; k < N; k += 100) {
          const specs = Array.from({ length: Math.min(100, N - k) }, (_, j) => {
            names.push(`c-${serial++}`);
            return podPortSpec(input(k + j));
          }).map((sp, j) => ({ ...sp, name: names[k + j]! }));
          await client.transact([requireSwitch(SWITCH), ...createPortsOps(SWITCH, specs)]);
        }
        while (!names.every((n) => cache.get(n))) await new Promise((r) => setTimeout(r, 50));
        return names;
      };
      let names = await made();
      await run(
        'raw client, 16 one-port deletePortOps in flight (the writer before)',
        concurrently(N, (i) => client.transact(deletePortOps(cache.get(names[i]!)!.uuid))),
      );
      names = await made();
      const del0 = writer.deletes.sent.transactions;
      await run(
        'writer.deletePort, 16 callers at once (coalesced)',
        concurrently(N, (i) => writer.deletePort(names[i]!)),
      );
      console.log(`          (${writer.deletes.sent.transactions - del0} transactions)`);
    }
  } finally {
    await cache.close();
    client.close();
    await server.stop();
  }
}

// A 3-member Raft cluster (how ovn-central runs NB), leader-only client: the leader's and the
// followers' CPU per transaction, one port each, and 16 ports with one mutate.
const raftServers: [string, string | undefined][] = [
  ['Debian', undefined],
  ...builds.map(([label, binary]) => [`ovsdb-server ${label}`, binary] as [string, string]),
];
for (const [raftLabel, binary] of only?.includes('raft') ? raftServers : []) {
  const cluster = await startNbRaft(3, binary ? { binary } : {});
  const client = await OvsdbClient.connect({
    remotes: cluster.remotes.split(','),
    database: 'OVN_Northbound',
    leaderOnly: true,
    requestTimeoutMs: 60_000,
  });
  try {
    console.log(`\n## 3-member Raft cluster, ${raftLabel}`);
    const leader = (await cluster.leader())!;
    const followers = cluster.members.filter((m) => m.pid !== leader.pid).map((m) => m.pid);
    await new NorthboundWriter(client).ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
    let filled = 0;
    let serial = 0;
    for (const size of SIZES) {
      while (filled < size) {
        const ops: Operation[] = [];
        for (let j = 0; j < 1000 && filled < size; j++, filled++)
          ops.push(...createPortOps(spec(`fill-${filled}`, 1_000_000 + filled), `p${j}`));
        await client.transact(ops);
      }
      for (const [label, perTxn] of [
        ['bench shape, 1 port per txn', 1],
        ['16 ports per txn, one mutate (per port)', 16],
      ] as const) {
        const txns = Math.ceil(N / perTxn);
        const before = sampleCpu({ leader: leader.pid, followers });
        const t0 = performance.now();
        for (let t = 0; t < txns; t++) {
          const specs = Array.from({ length: perTxn }, () => spec(`r-${serial}`, 2_000_000 + serial++));
          await client.transact([requireSwitch(SWITCH), ...createPortsOps(SWITCH, specs)]);
        }
        const rate = (txns * perTxn) / ((performance.now() - t0) / 1000);
        const cpu = cpuPerUnit(before, sampleCpu({ leader: leader.pid, followers }), txns * perTxn);
        const us = (x: number | undefined) => ((x ?? 0) * 1000).toFixed(0).padStart(5);
        console.log(
          `@${String(size).padStart(6)}  ${label.padEnd(66)} leader ${us(cpu.leader)} us, 2 followers ${us(cpu.followers)} us, client ${us(cpu.self)} us per port, ${rate.toFixed(0).padStart(6)} ports/s`,
        );
      }
    }
  } finally {
    client.close();
    await cluster.stop();
  }
}

// Ports spread over 10 switches (the curve's layout): as many ports in the database, a tenth of
// them in the switch written to.
if (!only || only.includes('spread')) {
  const server = await startNbServer();
  const client = await OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound' });
  try {
    const nb = new NorthboundWriter(client);
    const total = Math.max(...SIZES);
    console.log(`\n## ${total} ports over 10 switches (extra row), default server`);
    for (let s = 0; s < 10; s++)
      await nb.ensureLogicalSwitch({ name: `sw${s}`, cidrBlock: `10.${100 + s}.0.0/16` });
    for (let filled = 0; filled < total; ) {
      const ops: Operation[] = [];
      for (let j = 0; j < 1000 && filled < total; j++, filled++)
        ops.push(...createPortOps(spec(`fill-${filled}`, filled, `sw${filled % 10}`), `p${j}`));
      await client.transact(ops);
    }
    const before = sampleCpu({ server: server.pid });
    const t0 = performance.now();
    for (let i = 0; i < N; i++)
      await client.transact([
        requireSwitch(`sw${i % 10}`),
        ...createPortOps(spec(`s-${i}`, i, `sw${i % 10}`)),
      ]);
    const rate = N / ((performance.now() - t0) / 1000);
    const cpu = cpuPerUnit(before, sampleCpu({ server: server.pid }), N);
    console.log(
      `@${String(total).padStart(6)}  ${'bench shape, round-robin over the 10 switches'.padEnd(66)} server ${((cpu.server ?? 0) * 1000).toFixed(0).padStart(5)} us/txn, client ${((cpu.self ?? 0) * 1000).toFixed(0).padStart(5)} us/txn, ${rate.toFixed(0).padStart(6)} txn/s`,
    );
  } finally {
    client.close();
    await server.stop();
  }
}
process.exit(0);
