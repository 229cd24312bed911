// A relist re-delivers every pod unchanged, many at once. Through the real entry point
// (createDispatch), settled pods handled together share their Subnet and SwitchLBRule lists and
// their port-security guards: a batch of N no-op pod events costs a few lists and a few guard-only
// NB transactions, not 2N lists and N transactions, and still writes nothing anywhere.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pod } from '../../shared/domain/types.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { eventOf, type ReconcileHarness, startReconcileHarness } from './harness.ts';

const PODS = 30;
let h: ReconcileHarness;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.77.0.0/24', gateway: '10.77.0.1' });
});
afterAll(async () => {
  await h?.stop();
});

it('a batch of settled pods shares its lists and guards and writes nothing', async () => {
  const dispatch = createDispatch(h.deps);
  const names = Array.from({ length: PODS }, (_, i) => `relist-${i}`);
  for (const name of names) {
    const pod = (await h.admin.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', annotations: { 'ovn.kubernetes.io/logical_switch': h.subnet } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    })) as unknown as Pod;
    expect((await dispatch(eventOf(pod, 'add'))).status).toBe('done');
  }
  const settled = await Promise.all(names.map(async (n) => (await h.admin.getPod('default', n))!));
  expect(settled.every((p) => p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true')).toBe(true);
  // Every port as the replica's cache shows it, so each refresh reads it there (and guards it).
  await expect
    .poll(async () =>
      (await Promise.all(names.map((n) => h.nbWriter.getPort(`${n}.default`)))).every(Boolean),
    )
    .toBe(true);

  // A relist's events reach their reads together; here they are made to, so the count does not
  // depend on timing: every pod's GET returns once all have been answered, and the first guard-only
  // transaction goes out once every event has asked for its port security.
  const kube = h.deps.kube;
  let asked = 0;
  let allAsked!: () => void;
  const together = new Promise<void>((r) => {
    allAsked = r;
  });
  const getPod: typeof kube.getPod = async (ns, name) => {
    const pod = await kube.getPod(ns, name);
    if (++asked === PODS) allAsked();
    await together;
    return pod;
  };
  const relist = createDispatch({
    ...h.deps,
    kube: Object.assign(Object.create(kube) as typeof kube, { getPod }),
  });
  h.calls.length = 0;
  h.transactions.length = 0;
  h.nbCalls.length = 0;
  let held = false;
  h.beforeTransact = (ops) => {
    if (held || !ops.every((o) => o.op === 'wait')) return undefined;
    held = true;
    return expect
      .poll(() => h.nbCalls.filter((c) => c === 'refreshPortSecurity').length, { timeout: 10_000 })
      .toBe(PODS);
  };
  let outcomes: unknown[];
  try {
    outcomes = await Promise.all(settled.map((p) => relist(eventOf(p, 'update'))));
  } finally {
    h.beforeTransact = undefined;
  }
  expect(outcomes).toEqual(settled.map(() => ({ status: 'done' })));

  // Guards only (one transaction per pod before), and no write of any kind.
  expect(h.transactions.length).toBeGreaterThan(0);
  expect(h.transactions.length).toBeLessThanOrEqual(2);
  expect(h.transactions.every((t) => t.split('+').every((op) => op === 'wait'))).toBe(true);
  // One list of each per event before; now the events that ask while one is out share the next.
  expect(h.calls.filter((c) => c === 'listSubnets').length).toBeLessThanOrEqual(2);
  // (The rules are listed after the guards: the first event, whose guard went alone, lists them
  // alone, and the others, released together by the shared guard transaction, in one or two more.)
  expect(h.calls.filter((c) => c === 'listSwitchLBRules').length).toBeLessThanOrEqual(3);
  // Each pod is still read afresh (its annotated copy is not trusted).
  expect(h.calls.filter((c) => c === 'getPod')).toHaveLength(PODS);
  expect(h.calls.filter((c) => /^(patch|create|update|delete|claim)/.test(c))).toEqual([]);
});
