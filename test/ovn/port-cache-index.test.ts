// The PortCache's lookups by parent and by pod, which the reconcilers make on every pod event:
// they follow inserts, parent changes and deletes as the monitor reports them, against the run's
// real NB ovsdb-server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

let client: OvsdbClient;
let cacheClient: OvsdbClient;
let cache: PortCache;
let nb: NorthboundWriter;
beforeAll(async () => {
  client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  cacheClient = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  cache = await PortCache.start(cacheClient);
  nb = new NorthboundWriter(client);
});
afterAll(async () => {
  await cache.close();
  cacheClient.close();
  client.close();
});

const names = (ports: { name: string }[]) => ports.map((p) => p.name).sort();

it('finds virtual ports by parent and pod ports by pod, as the ports change', async () => {
  const ls = unique('ls');
  await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.23.0.0/16' });
  const [a, b, vip] = [unique('a'), unique('b'), unique('vip')];
  const pod = (name: string, ip: string) =>
    nb.ensurePort({ switchName: ls, name, mac: '00:00:00:aa:bb:03', ips: [ip], pod: name, namespace: 'idx' });
  await pod(a, '10.23.0.5');
  await pod(b, '10.23.0.6');
  await nb.ensureVirtualPort({ switchName: ls, name: vip, virtualIp: '10.23.0.100', parents: [a, b] });
  await expect.poll(() => names(cache.virtualPortsWithParent(a))).toEqual([vip]);
  expect(names(cache.virtualPortsWithParent(b))).toEqual([vip]);
  expect(names(cache.portsOfPod(`idx/${a}`))).toEqual([a]);

  // A parent taken out: found by the one left only.
  await nb.ensureVirtualPort({ switchName: ls, name: vip, virtualIp: '10.23.0.100', parents: [b] });
  await expect.poll(() => names(cache.virtualPortsWithParent(a))).toEqual([]);
  expect(names(cache.virtualPortsWithParent(b))).toEqual([vip]);

  // Deleted ports leave the indexes.
  await nb.deletePortReturning(vip);
  await nb.deletePortReturning(a);
  await expect.poll(() => names(cache.virtualPortsWithParent(b))).toEqual([]);
  await expect.poll(() => names(cache.portsOfPod(`idx/${a}`))).toEqual([]);
  expect(names(cache.portsOfPod(`idx/${b}`))).toEqual([b]);
});

it('a cache opened in the background is not used until it has loaded: reads go to the server meanwhile', async () => {
  const ls = unique('ls');
  await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.24.0.0/16' });
  const name = unique('early');
  await nb.ensurePort({
    switchName: ls,
    name,
    mac: '00:00:00:aa:bb:04',
    ips: ['10.24.0.5'],
    pod: name,
    namespace: 'idx',
  });
  const c = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  try {
    const opened = PortCache.open(c);
    // Nothing loaded yet: a writer using it must not take "not in the cache" for "absent".
    expect(opened.ready).toBe(false);
    expect(opened.get(name)).toBeUndefined();
    const writer = new NorthboundWriter(c, { portCache: opened });
    expect((await writer.getPort(name))?.name).toBe(name);
    await expect.poll(() => opened.ready).toBe(true);
    expect(opened.get(name)?.name).toBe(name);
    await opened.close();
  } finally {
    c.close();
  }
});
