// A port-security refresh that finds nothing to change still checks, on the server, that the port
// cache's row is current (its guard). Refreshes that find nothing to change at the same time (a
// relist of settled pods) have their guards checked together, in few transactions, and a guard
// that fails in the middle of such a transaction fails only its own refresh, which repairs the
// port; the guards after it are checked again. Counted on a real ovsdb-server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import type { Operation } from '../../shared/ovsdb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const PORTS = 40;
const MAC = '00:00:00:00:30:01';
let client: OvsdbClient;
let cache: PortCache;
/** Transactions the writer sent, by their operations; `before` runs ahead of each. */
const sent: Operation[][] = [];
let before: ((ops: readonly Operation[]) => Promise<void>) | undefined;
let writer: NorthboundWriter;

beforeAll(async () => {
  client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  cache = await PortCache.start(client);
  writer = new NorthboundWriter(
    {
      transact: async (ops, opts) => {
        sent.push([...ops]);
        await before?.(ops);
        return client.transact(ops, opts);
      },
    },
    { portCache: cache },
  );
});
afterAll(async () => {
  await cache?.close();
  client?.close();
});

async function settledPorts() {
  const ls = unique('ls');
  await writer.ensureLogicalSwitch({ name: ls, cidrBlock: '10.41.0.0/16' });
  const names: string[] = [];
  for (let i = 0; i < PORTS; i++) {
    const name = unique('pod');
    await writer.ensurePort({
      switchName: ls,
      name,
      mac: MAC,
      ips: [`10.41.0.${i + 10}`],
      pod: name,
      namespace: 'ns',
    });
    names.push(name);
  }
  // Every port as the cache shows it, so each refresh below reads it there.
  await expect.poll(() => names.every((n) => cache.get(n))).toBe(true);
  return names;
}
const own = (i: number) => [`${MAC} 10.41.0.${i + 10}`];
const shown = async (port: string) =>
  (await nbctl(remote, '--bare', '--columns=port_security', 'find', 'Logical_Switch_Port', `name=${port}`))
    .trim()
    .replace(/"/g, '');

it('refreshes that change nothing check their guards together: few transactions, no writes', async () => {
  const names = await settledPorts();
  sent.length = 0;
  const values = await Promise.all(names.map((n, i) => writer.refreshPortSecurity(n, async () => own(i))));
  expect(values).toEqual(names.map((_, i) => own(i)));
  // One transaction per refresh before; now the first goes alone and the rest wait for it.
  expect(sent.length).toBeLessThanOrEqual(3);
  expect(sent.flat().every((op) => op.op === 'wait')).toBe(true);
  expect(sent.flat()).toHaveLength(PORTS);
});

it('a guard that fails in a shared transaction fails only its refresh, which repairs the port', async () => {
  const names = await settledPorts();
  const victim = 5;
  let changed = false;
  // Someone else changes the victim's port just before the shared guard transaction is evaluated:
  // the cache's row the guard holds is then stale on the server.
  before = async (ops) => {
    if (changed || ops.length < 2 || !ops.every((op) => op.op === 'wait')) return;
    changed = true;
    await nbctl(remote, 'lsp-set-port-security', names[victim]!, `${MAC} 10.41.0.${victim + 10} 10.41.9.9`);
  };
  sent.length = 0;
  try {
    const first = writer.refreshPortSecurity(names[0]!, async () => own(0)); // goes alone
    const rest = names.slice(1).map((n, j) => writer.refreshPortSecurity(n, async () => own(j + 1)));
    expect(await Promise.all([first, ...rest])).toEqual(names.map((_, i) => own(i)));
  } finally {
    before = undefined;
  }
  expect(changed).toBe(true);
  // The victim was put back; no other port was written.
  for (const [i, n] of names.entries()) expect(await shown(n)).toBe(own(i)[0]);
  const writes = sent.flat().filter((op) => op.op === 'update');
  expect(writes).toHaveLength(1);
  expect(JSON.stringify(writes[0])).toContain(own(victim)[0]);
  // Still far fewer transactions than refreshes: the guards after the failed one went together again.
  expect(sent.length).toBeLessThan(PORTS / 2);
});
