// What the port cache asks the server to monitor. Every monitor of Logical_Switch's `ports` costs
// ovsdb-server a diff of the whole set on each port added (at 10,000 ports +40-60 µs per
// transaction, bench/ovsdb-server-cost.ts), so the cache monitors Logical_Switch_Port only; it
// still sees a port created, moved between switches and deleted. On the run's real NB server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import { type MonitorSpec, OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
let client: OvsdbClient;
const asked: MonitorSpec[] = [];
let cache: PortCache;

beforeAll(async () => {
  client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  cache = await PortCache.start({
    monitor: (spec, opts) => {
      asked.push(spec);
      return client.monitor(spec, opts);
    },
  });
});
afterAll(async () => {
  await cache?.close();
  client?.close();
});

it('monitors Logical_Switch_Port only, never a switch `ports` set, and still follows ports between switches', async () => {
  expect(asked.flatMap((s) => Object.keys(s.tables))).toEqual(['Logical_Switch_Port']);
  expect(asked.some((s) => 'Logical_Switch' in s.tables)).toBe(false);

  const nb = new NorthboundWriter(client);
  const [a, b] = [unique('ls'), unique('ls')];
  await nb.ensureLogicalSwitch({ name: a, cidrBlock: '10.44.0.0/16' });
  await nb.ensureLogicalSwitch({ name: b, cidrBlock: '10.45.0.0/16' });
  const name = unique('pod');
  const input = { name, mac: '00:00:00:00:44:01', pod: name, namespace: 'ns' };
  const created = await nb.ensurePort({ ...input, switchName: a, ips: ['10.44.0.5'] });
  await expect.poll(() => cache.get(name)?.externalIds.ls).toBe(a);
  // Moved: the port's own `ls` external id says which switch holds it, no switch row needed.
  const moved = await nb.ensurePort({ ...input, switchName: b, ips: ['10.45.0.5'] });
  expect(moved.uuid).toBe(created.uuid);
  await expect.poll(() => cache.get(name)?.externalIds.ls).toBe(b);
  expect((await nb.listPorts({ switchName: b })).map((p) => p.name)).toContain(name);
  await nb.deletePort(name);
  await expect.poll(() => cache.get(name)).toBeUndefined();
});
