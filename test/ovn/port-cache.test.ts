// PortCache against the run's real NB ovsdb-server: after every kind of change the server sends as
// an update2 diff (set elements toggled, map keys added, changed and removed, an optional column
// set and cleared, a rename, a delete), the cached port equals the port read from the server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type LogicalSwitchPort,
  logicalSwitchPortFromRow,
  NorthboundWriter,
  PortCache,
  selectPortByName,
  Table,
} from '../../shared/ovn/nb/index.ts';
import { deletePortOps } from '../../shared/ovn/nb/ops/logical-switch-port.ts';
import { map, OvsdbClient, op, type Row, set, whereUuid } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

describe('PortCache', () => {
  let client: OvsdbClient;
  let cacheClient: OvsdbClient;
  let cache: PortCache;
  beforeAll(async () => {
    client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
    cacheClient = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
    cache = await PortCache.start(cacheClient);
  });
  afterAll(async () => {
    await cache.close();
    cacheClient.close();
    client.close();
  });

  const fromServer = async (name: string): Promise<LogicalSwitchPort | undefined> => {
    const [r] = await client.transact([selectPortByName(name)]);
    const row = r?.rows?.[0];
    return row ? logicalSwitchPortFromRow(row) : undefined;
  };
  /** Waits until the cache shows the port as the server has it (the monitor lags by a moment). */
  const matchesServer = async (name: string) => {
    const want = await fromServer(name);
    expect(want).toBeDefined();
    await expect.poll(() => cache.get(name), { timeout: 5_000, interval: 20 }).toEqual(want);
    return want!;
  };
  const update = (uuid: string, row: Row) =>
    client.transact([op.update(Table.LogicalSwitchPort, [whereUuid(uuid)], row)]);

  it('follows inserts, set toggles, map key changes, an optional column, a rename and a delete', async () => {
    const ls = unique('ls');
    await new NorthboundWriter(client).ensureLogicalSwitch({ name: ls, cidrBlock: '10.31.0.0/16' });
    const name = unique('p');
    const created = await new NorthboundWriter(client).ensurePort({
      switchName: ls,
      name,
      mac: '00:00:00:31:00:05',
      ips: ['10.31.0.5'],
      pod: 'p',
      namespace: 'n',
    });
    const start = await matchesServer(name);
    expect(start.uuid).toBe(created.uuid);
    expect(start.externalIds).toMatchObject({ ls, vendor: 'kube-ovn', pod: 'n/p' });

    // A set from one element (sent bare) to two, and a second one emptied.
    await update(start.uuid, {
      addresses: set(['00:00:00:31:00:05 10.31.0.5', 'router']),
      port_security: set([]),
    });
    expect((await matchesServer(name)).addresses).toHaveLength(2);
    // Back to one, a different one: the diff toggles two elements.
    await update(start.uuid, { addresses: set(['dynamic']) });
    expect((await matchesServer(name)).addresses).toEqual(['dynamic']);

    // Map keys added, then one changed and one removed in the same diff.
    await update(start.uuid, { options: map({ a: '1', b: '2' }) });
    await matchesServer(name);
    await update(start.uuid, { options: map({ a: '9', c: '3' }) });
    expect((await matchesServer(name)).options).toEqual({ a: '9', c: '3' });
    await update(start.uuid, { external_ids: map({ ls, extra: 'x' }) });
    expect((await matchesServer(name)).externalIds).toEqual({ ls, extra: 'x' });

    // An optional boolean set, flipped, cleared; the type changed.
    await update(start.uuid, { up: true, type: 'virtual' });
    expect((await matchesServer(name)).up).toBe(true);
    await update(start.uuid, { up: false });
    expect((await matchesServer(name)).up).toBe(false);
    await update(start.uuid, { up: set([]), type: '' });
    expect((await matchesServer(name)).up).toBeUndefined();

    // A rename: the old name is gone from the cache, the new one found.
    const renamed = unique('renamed');
    await update(start.uuid, { name: renamed });
    await matchesServer(renamed);
    expect(cache.get(name)).toBeUndefined();

    await client.transact(deletePortOps(start.uuid));
    await expect.poll(() => cache.get(renamed), { timeout: 5_000, interval: 20 }).toBeUndefined();
    // Gone under every name (other test files add ports to the same server, so no count here).
    expect(cache.all().some((p) => p.uuid === start.uuid)).toBe(false);
  });
});
