// Every handler is level-triggered: a relay restart without its settled-version store re-delivers
// every object unchanged, and that must write nothing to the API server, Redis or OVN NB. A handler
// that writes on a no-op event (a status patch with the same content, a count, an NB transaction
// that changes nothing) fails this test. With the store (the stack's default), a restart delivers
// nothing for unchanged objects, and exactly what was created, changed or deleted while no relay
// watched. The same is measured at scale by `npm run bench -- curve`.

import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Stack, startStack } from '../../infra/local/stack.ts';
import {
  compactNb,
  countApiWrites,
  nbCommitsSince,
  nbLogMark,
  redisCommandStats,
  redisWrites,
  relayDrained,
  relayProgress,
} from '../../infra/local/write-counters.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { createKube } from '../../shared/kube/index.ts';

const VIPS = 200;
const AAP_EVERY = 10;
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack({ replicas: 1, admission: false, resync: '1h', heal: false });
  redis = new Redis(stack.redisUrl!);
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const allocated = (p: { metadata: { annotations?: Record<string, string> } }) =>
  p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true';

test('a relay restart (a relist of every kind) writes nothing to the API server, Redis or NB', async () => {
  const kube = createKube({ kubeconfigPath: stack.kubeconfig });
  const pod = (
    name: string,
    extra: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ) =>
    kube.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', ...extra },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  for (let i = 0; i < VIPS; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, async (_, j) => {
        const n = i + j;
        const name = `quiet-${n}`;
        const aap = n % AAP_EVERY === 0;
        await kube.create('Vip', {
          apiVersion: 'kubeovn.io/v1',
          kind: 'Vip',
          metadata: { name },
          spec: aap
            ? { subnet: 'ovn-default', namespace: 'default', selector: [`vip: ${name}`] }
            : { subnet: 'ovn-default' },
        });
        if (aap)
          await pod(`parent-${name}`, {
            labels: { vip: name },
            annotations: { 'ovn.kubernetes.io/aaps': name },
          });
        await pod(`plain-${n}`, {});
      }),
    );
  }
  // Everything handled: Vips Ready (AAP ones with their parent), pods allocated, relay idle.
  await expect
    .poll(
      async () => {
        const [vips, pods] = await Promise.all([kube.listVips(), kube.listPods({ namespace: 'default' })]);
        const parented = vips.filter((v) => v.spec.namespace && v.status?.pv4ip).length;
        return {
          ready: vips.filter((v) => v.status?.ready).length,
          parented,
          allocated: pods.filter(allocated).length,
        };
      },
      { timeout: 60_000, interval: 250 },
    )
    .toEqual({ ready: VIPS, parented: VIPS / AAP_EVERY, allocated: VIPS + VIPS / AAP_EVERY });
  await relayDrained(stack.relayHealthUrl, 1);
  // The Subnet's counts are written a while after the last allocation (coalesced, slower when
  // busy); wait until they show the allocator's, so no count write that was already due lands
  // during the relist.
  const allocator = createRedisAllocator(redis);
  await expect
    .poll(
      async () => {
        const [shown, held] = await Promise.all([
          kube.getSubnet('ovn-default'),
          allocator.counts('ovn-default'),
        ]);
        return (shown?.status as { v4usingIPs?: number } | undefined)?.v4usingIPs === held.v4UsingIPs;
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(true);

  // The relay goes away; what it would have re-delivered is now a full relist (no store).
  await stack.relay!.stop();
  await compactNb(stack.nb!.ctl);
  const mark = nbLogMark(stack.nb!.dbFile);
  const redisBefore = await redisWrites(redis);
  const callsBefore = await redisCommandStats(redis);
  const api = countApiWrites(stack.apiServer);
  await stack.startRelay(0, { state: false });
  // Every object listed is delivered and answered (Vips, pods, the Subnet).
  const objects = VIPS + VIPS + VIPS / AAP_EVERY + 1;
  const drained = await relayDrained(stack.relayHealthUrl, objects, { timeoutMs: 60_000 });
  expect(drained.delivered).toBeGreaterThanOrEqual(objects);
  api.detach();

  expect(Object.fromEntries(api.byShape), 'API server writes').toEqual({});
  expect(
    (await redisWrites(redis)) - redisBefore,
    `Redis writes (commands called: ${await callsSince(callsBefore)})`,
  ).toBe(0);
  expect(nbCommitsSince(stack.nb!.dbFile, mark), 'NB commits').toBe(0);
}, 180_000);

/** The Redis commands called since `before`, with their counts: on a failure they name the writer. */
async function callsSince(before: Map<string, { calls: number }>): Promise<string> {
  return [...(await redisCommandStats(redis))]
    .map(([cmd, n]) => `${cmd} ${n.calls - (before.get(cmd)?.calls ?? 0)}`)
    .filter((x) => !x.endsWith(' 0'))
    .join(', ');
}

const kube = () => createKube({ kubeconfigPath: stack.kubeconfig });
const OBJECTS = VIPS + VIPS + VIPS / AAP_EVERY + 1;

/** The relay's `list:` log lines of its current process, by resource. */
function listLines(): Record<string, { delivering: number; skipped: number; deletes: number }> {
  const out: Record<string, { delivering: number; skipped: number; deletes: number }> = {};
  for (const line of readFileSync(stack.relay!.logFile, 'utf8').split('\n')) {
    if (!line.includes('"list: listed')) continue;
    const l = JSON.parse(line) as { resource: string; delivering: number; skipped: number; deletes: number };
    out[l.resource] = { delivering: l.delivering, skipped: l.skipped, deletes: l.deletes };
  }
  return out;
}

test('with the settled-version store, a relay restart delivers nothing for unchanged objects and writes nothing', async () => {
  await relayDrained(stack.relayHealthUrl, 1);
  await stack.relay!.stop();
  await compactNb(stack.nb!.ctl);
  const mark = nbLogMark(stack.nb!.dbFile);
  const redisBefore = await redisWrites(redis);
  const callsBefore = await redisCommandStats(redis);
  const api = countApiWrites(stack.apiServer);
  await stack.startRelay(0);
  const drained = await relayDrained(stack.relayHealthUrl, OBJECTS, { timeoutMs: 60_000 });
  api.detach();
  expect(drained).toMatchObject({ received: 0, delivered: 0, depth: 0 });
  expect(drained.skipped).toBeGreaterThanOrEqual(OBJECTS);
  expect(Object.fromEntries(api.byShape), 'API server writes').toEqual({});
  expect(
    (await redisWrites(redis)) - redisBefore,
    `Redis writes (commands called: ${await callsSince(callsBefore)})`,
  ).toBe(0);
  expect(nbCommitsSince(stack.nb!.dbFile, mark), 'NB commits').toBe(0);
}, 120_000);

test('objects created, changed and deleted while no relay watched are delivered, nothing else', async () => {
  const k = kube();
  const allocator = createRedisAllocator(redis);
  const aapVip = 'quiet-0'; // AAP: a virtual port in NB, its parent pod parent-quiet-0
  const plainVip = 'quiet-1';
  const deletedPod = 'plain-2';
  const podIp = (await k.getPod('default', deletedPod))?.metadata.annotations?.[
    'ovn.kubernetes.io/ip_address'
  ];
  expect(podIp).toBeTruthy();
  expect(await allocator.get('ovn-default', `vip/${aapVip}`)).toBeTruthy();
  await stack.relay!.stop();

  await k.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name: 'late-new' },
    spec: { subnet: 'ovn-default' },
  });
  await k.patchMetadata('Vip', { name: plainVip }, { labels: { edited: 'yes' } });
  await k.delete('Vip', { name: aapVip }); // held by its finalizer until a handler releases it
  await k.delete('Pod', { namespace: 'default', name: deletedPod }); // gone at once: no finalizer

  await stack.startRelay(0);
  await expect
    .poll(async () => (await k.getVip('late-new'))?.status?.ready, { timeout: 30_000, interval: 200 })
    .toBe(true);
  await expect.poll(async () => !!(await k.getVip(aapVip)), { timeout: 30_000, interval: 200 }).toBe(false);
  await expect
    .poll(async () => allocator.get('ovn-default', `pod/${deletedPod}.default`), {
      timeout: 30_000,
      interval: 200,
    })
    .toBeUndefined();
  expect(await allocator.get('ovn-default', `vip/${aapVip}`)).toBeUndefined();
  const ports = await nbPortNames();
  expect(ports).not.toContain(aapVip);
  expect(ports).not.toContain(`${deletedPod}.default`);
  expect(ports).toContain('quiet-10'); // another AAP Vip's port stays

  // What the new relay's lists sent: the three Vips and the pod's delete; everything else skipped.
  const lists = listLines();
  expect(lists['vips.kubeovn.io']).toMatchObject({ delivering: 3, deletes: 0 });
  expect(lists.pods).toMatchObject({ delivering: 0, deletes: 1 });
  expect(lists['subnets.kubeovn.io']).toMatchObject({ delivering: 0, deletes: 0 });
  expect((await relayProgress(stack.relayHealthUrl)).skipped).toBeGreaterThanOrEqual(OBJECTS - 3);
}, 120_000);

async function nbPortNames(): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'ovn-nbctl',
      [`--db=${stack.nbRemote}`, '--bare', '--columns=name', 'list', 'logical_switch_port'],
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
