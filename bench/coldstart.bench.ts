// `npm run bench -- coldstart`: what a restarted function replica's port cache costs its first
// events. A real ovsdb-server is filled with PORTS Logical_Switch_Ports (default 20,000, big
// transactions straight into the server); then, on a fresh connection, the cache is opened the way
// the replica opens it and 20 events (a pod port created each: a read by name from the server, as
// the cache is not ready, and a write) arrive at once. Opened "at once", the 15 MB-class snapshot
// reply is parsed and applied on the only thread while they wait; "after first event" asks for it
// once the first event was handled (infra/wiring/controller.ts). Each is run twice, alternating.

import { startNbServer } from '../infra/local/services.ts';
import { NorthboundWriter, PortCache, Table } from '../shared/ovn/nb/index.ts';
import { map, namedUuid, OvsdbClient, op, set, where } from '../shared/ovsdb/index.ts';
import { watchStalls } from './stall.ts';

const PORTS = Number(process.env.PORTS ?? 20_000);
const EVENTS = 20;
const BATCH = 2_000;

export async function fill(remote: string, ports: number) {
  const client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  try {
    const ls = 'cold-ls';
    await new NorthboundWriter(client).ensureLogicalSwitch({ name: ls, cidrBlock: '10.0.0.0/8' });
    for (let from = 0; from < ports; from += BATCH) {
      const ops = [];
      const names = [];
      for (let i = from; i < Math.min(ports, from + BATCH); i++) {
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const mac = `00:00:0a:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
        const n = `p${i}`;
        names.push(namedUuid(n));
        ops.push(
          op.insert(
            Table.LogicalSwitchPort,
            {
              name: `pod-${i}.ns-${i % 50}`,
              addresses: set([`${mac} ${ip}`]),
              port_security: set([`${mac} ${ip}`]),
              external_ids: map({ ls, vendor: 'kube-ovn', pod: `ns-${i % 50}/pod-${i}` }),
            },
            n,
          ),
        );
      }
      ops.push(op.mutate(Table.LogicalSwitch, [where('name', '==', ls)], [['ports', 'insert', set(names)]]));
      await client.transact(ops);
    }
  } finally {
    client.close();
  }
}

interface Run {
  firstEventMs: number;
  allEventsMs: number;
  readyMs: number;
  longestStallMs: number;
}

async function once(remote: string, deferred: boolean, tag: string): Promise<Run> {
  const client = await OvsdbClient.connect({
    remotes: [remote],
    database: 'OVN_Northbound',
    leaderOnly: true,
  });
  const stalls = watchStalls();
  try {
    let first!: () => void;
    const firstDone = new Promise<void>((r) => {
      first = r;
    });
    const start = performance.now();
    const cache = PortCache.open(client, deferred ? { startAfter: firstDone } : {});
    const writer = new NorthboundWriter(client, { portCache: cache });
    let firstAt = Number.NaN;
    await Promise.all(
      Array.from({ length: EVENTS }, async (_, i) => {
        await writer.ensurePort({
          switchName: 'cold-ls',
          name: `${tag}-${i}`,
          mac: '00:00:0b:00:00:01',
          ips: [`11.0.${i >> 8}.${i & 255}`],
          pod: `${tag}-${i}`,
          namespace: 'cold',
        });
        if (Number.isNaN(firstAt)) firstAt = performance.now() - start;
        first();
      }),
    );
    const allAt = performance.now() - start;
    while (!cache.ready) await new Promise((r) => setTimeout(r, 5));
    const readyAt = performance.now() - start;
    if (cache.size < PORTS) throw new Error(`cache holds ${cache.size} ports, want at least ${PORTS}`);
    await cache.close();
    return { firstEventMs: firstAt, allEventsMs: allAt, readyMs: readyAt, longestStallMs: stalls.stop() };
  } finally {
    stalls.stop();
    client.close();
  }
}

export async function run() {
  const nb = await startNbServer();
  try {
    const t = performance.now();
    await fill(nb.remote, PORTS);
    console.log(`filled ${PORTS} ports in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const rows: Record<string, string | number>[] = [];
    for (const round of [1, 2])
      for (const deferred of [false, true]) {
        const r = await once(nb.remote, deferred, `r${round}${deferred ? 'd' : 'n'}`);
        rows.push({
          'port cache opened': deferred ? 'after first event' : 'at once',
          'first event ms': Math.round(r.firstEventMs),
          [`${EVENTS} events ms`]: Math.round(r.allEventsMs),
          'cache ready ms': Math.round(r.readyMs),
          'longest stall ms': Math.round(r.longestStallMs),
        });
      }
    console.table(rows);
  } finally {
    await nb.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
