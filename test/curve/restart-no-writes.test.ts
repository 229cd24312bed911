// Every handler is level-triggered: a relay restart re-delivers every object unchanged, and that
// must write nothing to the API server, Redis or OVN NB. A handler that writes on a no-op event
// (a status patch with the same content, a count, an NB transaction that changes nothing) fails
// this test. The same property is measured at 100,000 Vips + 100,000 pods by `npm run bench -- curve`.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Stack, startStack } from '../../infra/local/stack.ts';
import {
  compactNb,
  countApiWrites,
  nbCommitsSince,
  nbLogMark,
  redisWrites,
  relayDrained,
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

  // The relay goes away; what it would have re-delivered is now a full relist.
  await stack.relay!.stop();
  await compactNb(stack.nb!.ctl);
  const mark = nbLogMark(stack.nb!.dbFile);
  const redisBefore = await redisWrites(redis);
  const api = countApiWrites(stack.apiServer);
  await stack.startRelay(0);
  // Every object listed is delivered and answered (Vips, pods, the Subnet).
  const objects = VIPS + VIPS + VIPS / AAP_EVERY + 1;
  const drained = await relayDrained(stack.relayHealthUrl, objects, { timeoutMs: 60_000 });
  expect(drained.delivered).toBeGreaterThanOrEqual(objects);
  api.detach();

  expect(Object.fromEntries(api.byShape), 'API server writes').toEqual({});
  expect((await redisWrites(redis)) - redisBefore, 'Redis writes').toBe(0);
  expect(nbCommitsSince(stack.nb!.dbFile, mark), 'NB commits').toBe(0);
}, 180_000);
