// New ports of one switch created at the same time go in few transactions, each adding them all
// with one mutate of the switch's `ports` (ovsdb-server's cost of that mutate grows with the set
// and is paid once per transaction). A name already taken fails only its own caller; a missing
// switch fails every caller as SubnetNotReady. Deletions are batched the same way, one mutate per
// switch; a port held by another switch than it says still goes. On the run's real NB ovsdb-server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { isDomainError } from '../../shared/domain/errors.ts';
import {
  createPortOps,
  NorthboundWriter,
  type PortSpec,
  podPortSpec,
  requireSwitch,
} from '../../shared/ovn/nb/index.ts';
import { ConstraintViolation } from '../../shared/ovsdb/errors.ts';
import { type Operation, OvsdbClient, op, set, setValues, uuid, where } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const PORTS = 40;
let client: OvsdbClient;
/** Every transaction the writer sent. */
const sent: Operation[][] = [];
let writer: NorthboundWriter;

beforeAll(async () => {
  client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  writer = new NorthboundWriter({
    transact: (ops, opts) => {
      sent.push([...ops]);
      return client.transact(ops, opts);
    },
  });
});
afterAll(() => client?.close());

const pod = (switchName: string, name: string, i: number) => ({
  switchName,
  name,
  mac: '00:00:00:00:31:01',
  ips: [`10.42.0.${i + 10}`],
  pod: name,
  namespace: 'ns',
});

/** The switch's `ports` as the server has them, and its ports' names. */
async function serverView(switchName: string) {
  const [sw, ports] = await client.transact([
    op.select('Logical_Switch', [where('name', '==', switchName)], ['ports']),
    op.select('Logical_Switch_Port', [], ['_uuid', 'name']),
  ]);
  const members = new Set(setValues(sw?.rows?.[0]?.ports).map(String));
  const nameOf = new Map((ports?.rows ?? []).map((r) => [String(r._uuid), String(r.name)]));
  return new Map([...members].map((u) => [nameOf.get(u), u]));
}

const mutatesOf = (ops: Operation[]) => ops.filter((o) => o.op === 'mutate').length;

it('creates the new ports of one switch asked for at once in few transactions, one mutate each', async () => {
  const ls = unique('ls');
  await writer.ensureLogicalSwitch({ name: ls, cidrBlock: '10.42.0.0/16' });
  const names = Array.from({ length: PORTS }, () => unique('pod'));
  sent.length = 0;
  const ports = await Promise.all(names.map((n, i) => writer.ensurePort(pod(ls, n, i))));

  const inserting = sent.filter((ops) => ops.some((o) => o.op === 'insert'));
  // The first goes out alone, the ones asked for while it is out go together in the next one.
  expect(inserting.length).toBeLessThanOrEqual(3);
  expect(inserting.every((ops) => mutatesOf(ops) === 1)).toBe(true);
  expect(inserting.flat().filter((o) => o.op === 'insert')).toHaveLength(PORTS);
  // Each caller got its own port's uuid, and the switch holds every one.
  const onServer = await serverView(ls);
  expect(onServer.size).toBe(PORTS);
  for (const [i, p] of ports.entries()) {
    expect(p.name).toBe(names[i]);
    expect(onServer.get(p.name)).toBe(p.uuid);
  }
  // Asked again, nothing is written.
  sent.length = 0;
  await Promise.all(names.map((n, i) => writer.ensurePort(pod(ls, n, i))));
  expect(sent.filter((ops) => ops.some((o) => o.op !== 'select'))).toHaveLength(0);
});

it('a name already taken fails only its own caller, the others of its transaction are created', async () => {
  const ls = unique('ls');
  await writer.ensureLogicalSwitch({ name: ls, cidrBlock: '10.43.0.0/16' });
  const spec = (name: string, i: number): PortSpec => podPortSpec(pod(ls, name, i));
  const taken = unique('taken');
  await client.transact([requireSwitch(ls), ...createPortOps(spec(taken, 0))]);
  const [first, a, dup, b] = [unique('first'), unique('a'), taken, unique('b')];
  const before = { ...writer.creates.sent };
  // `first` goes out at once; the three asked for meanwhile share the next transaction, which the
  // taken name fails: each of the three is then sent alone.
  const results = await Promise.allSettled(
    [first, a, dup, b].map((n, i) => writer.creates.create(ls, [spec(n, i + 1)])),
  );
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConstraintViolation);
  expect(writer.creates.sent.transactions - before.transactions).toBe(1 + 1 + 3);
  const onServer = await serverView(ls);
  expect([...onServer.keys()].sort()).toEqual([first, a, taken, b].sort());
  for (const i of [0, 1, 3]) {
    const name = [first, a, dup, b][i]!;
    expect(onServer.get(name)).toBe((results[i] as PromiseFulfilledResult<string[]>).value[0]);
  }
  // Through ensurePort, the taken name converges on the existing port (read again, updated).
  const p = await writer.ensurePort({ ...pod(ls, taken, 9) });
  expect(p.uuid).toBe(onServer.get(taken));
});

it('every port asked for in a switch that does not exist fails as SubnetNotReady, and nothing is left', async () => {
  const ls = unique('missing');
  const names = Array.from({ length: 5 }, () => unique('pod'));
  const results = await Promise.allSettled(names.map((n, i) => writer.ensurePort(pod(ls, n, i))));
  for (const r of results) {
    expect(r.status).toBe('rejected');
    const err = (r as PromiseRejectedResult).reason;
    expect(isDomainError(err) && err.reason).toBe('SubnetNotReady');
  }
  const left = await client.transact(
    names.map((n) => op.select('Logical_Switch_Port', [where('name', '==', n)], ['name'])),
  );
  expect(left.flatMap((r) => r.rows ?? [])).toHaveLength(0);
});

it('deletes the ports asked for at once in few transactions, one mutate per switch each', async () => {
  const [ls1, ls2] = [unique('ls'), unique('ls')];
  await writer.ensureLogicalSwitch({ name: ls1, cidrBlock: '10.46.0.0/16' });
  await writer.ensureLogicalSwitch({ name: ls2, cidrBlock: '10.47.0.0/16' });
  const names = Array.from({ length: PORTS }, () => unique('pod'));
  await Promise.all(names.map((n, i) => writer.ensurePort(pod(i % 2 ? ls2 : ls1, n, i))));
  sent.length = 0;
  const deleted = await Promise.all(names.map((n) => writer.deletePort(n)));
  expect(deleted.every(Boolean)).toBe(true);
  const deleting = sent.filter((ops) => ops.some((o) => o.op === 'delete'));
  expect(deleting.length).toBeLessThanOrEqual(3);
  // One mutate per switch in each transaction, whatever the number of ports.
  for (const ops of deleting) {
    const switches = new Set(ops.filter((o) => o.op === 'mutate').map((o) => JSON.stringify(o)));
    expect(mutatesOf(ops)).toBe(switches.size);
    expect(mutatesOf(ops)).toBeLessThanOrEqual(2);
  }
  expect((await serverView(ls1)).size).toBe(0);
  expect((await serverView(ls2)).size).toBe(0);
  const left = await client.transact(
    names.map((n) => op.select('Logical_Switch_Port', [where('name', '==', n)], ['name'])),
  );
  expect(left.flatMap((r) => r.rows ?? [])).toHaveLength(0);
});

it('a port held by another switch than its ls says is still deleted with its batch-mates', async () => {
  const [ls1, ls2] = [unique('ls'), unique('ls')];
  await writer.ensureLogicalSwitch({ name: ls1, cidrBlock: '10.48.0.0/16' });
  await writer.ensureLogicalSwitch({ name: ls2, cidrBlock: '10.49.0.0/16' });
  const names = Array.from({ length: 4 }, () => unique('pod'));
  await Promise.all(names.map((n, i) => writer.ensurePort(pod(ls1, n, i))));
  // Another tool moved names[2] into ls2 without updating its ls external id.
  const stray = (await serverView(ls1)).get(names[2])!;
  await client.transact([
    op.mutate('Logical_Switch', [where('name', '==', ls1)], [['ports', 'delete', set([uuid(stray)])]]),
    op.mutate('Logical_Switch', [where('name', '==', ls2)], [['ports', 'insert', set([uuid(stray)])]]),
  ]);
  const before = { ...writer.deletes.sent };
  const deleted = await Promise.all(names.map((n) => writer.deletePort(n)));
  expect(deleted.every(Boolean)).toBe(true);
  // The first alone, the three others together (refused: the stray is still referenced), then alone.
  expect(writer.deletes.sent.transactions - before.transactions).toBe(1 + 1 + 3);
  expect((await serverView(ls1)).size).toBe(0);
  expect((await serverView(ls2)).size).toBe(0);
});
