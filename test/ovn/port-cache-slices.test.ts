// A snapshot larger than the client's piece threshold (4 MB: 16,000 ports here) is parsed a piece
// per macrotask and applied in slices (shared/ovsdb/framing.ts, shared/ovn/nb/port-cache.ts): reads
// on the same connection are answered while it fills, changes made meanwhile land in order, and
// the cache then equals the server. Its own NB server, as the fill would crowd the shared one.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type OvsdbServer, startNbServer } from '../../infra/local/services.ts';
import { NorthboundWriter, PortCache, Table } from '../../shared/ovn/nb/index.ts';
import { map, namedUuid, OvsdbClient, op, set, where } from '../../shared/ovsdb/index.ts';

const dir = makeTempDir('vipres-slices-');
const LS = 'slices-ls';
const PORTS = 16_000;
let nb: OvsdbServer;
let client: OvsdbClient;
let writer: NorthboundWriter;

const mac = (i: number) =>
  `00:00:0b:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

beforeAll(async () => {
  nb = await startNbServer({ dir: join(dir, 'nb') });
  client = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
  writer = new NorthboundWriter(client);
  await writer.ensureLogicalSwitch({ name: LS, cidrBlock: '10.0.0.0/8' });
  for (let from = 0; from < PORTS; from += 2_000) {
    const ops = [];
    const names = [];
    for (let i = from; i < from + 2_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      names.push(namedUuid(`p${i}`));
      ops.push(
        op.insert(
          Table.LogicalSwitchPort,
          {
            name: `pod-${i}.ns`,
            addresses: set([`${mac(i)} ${ip}`]),
            port_security: set([`${mac(i)} ${ip}`]),
            external_ids: map({ ls: LS, vendor: 'kube-ovn', pod: `ns/pod-${i}` }),
          },
          `p${i}`,
        ),
      );
    }
    ops.push(op.mutate(Table.LogicalSwitch, [where('name', '==', LS)], [['ports', 'insert', set(names)]]));
    await client.transact(ops);
  }
}, 120_000);

afterAll(async () => {
  client?.close();
  await nb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a large port snapshot', () => {
  it('lets reads on its connection through while it fills, then equals the server', async () => {
    const c = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
    try {
      let open!: () => void;
      const cache = PortCache.open(c, {
        startAfter: new Promise<void>((r) => {
          open = r;
        }),
      });
      cache.sliceRows = 500;
      const w = new NorthboundWriter(c, { portCache: cache });
      open();
      await new Promise((r) => setImmediate(r)); // the monitor request is on the wire
      expect(cache.requestedSnapshot).toBe(true);
      // Reads sent behind the monitor request, on the same connection, until the cache is ready:
      // their replies come after the snapshot's on the wire, and are dispatched before it is
      // applied (parsed and applied in one go, the cache would be ready before the first of them).
      const answeredBeforeReady: string[] = [];
      const changed: Promise<unknown>[] = [];
      for (let i = 0; !cache.ready && i < 200; i++) {
        const name = `pod-${i * 7}.ns`;
        const p = await w.getPort(name);
        expect(p?.name).toBe(name);
        if (!cache.ready) answeredBeforeReady.push(name);
        // A change made while the snapshot fills reaches the cache after it, in order.
        if (i === 0) changed.push(w.deletePort('pod-1.ns'));
      }
      await Promise.all(changed);
      await expect.poll(() => cache.ready, { timeout: 30_000 }).toBe(true);
      expect(answeredBeforeReady.length).toBeGreaterThan(0);
      const onServer = await writer.listPorts();
      await expect.poll(() => cache.size, { timeout: 10_000 }).toBe(onServer.length);
      expect(cache.get('pod-1.ns')).toBeUndefined();
      for (const p of onServer) expect(cache.get(p.name)).toEqual(p);
      await cache.close();
    } finally {
      c.close();
    }
  }, 120_000);
});
