// The Subnet status refresher waits longer when counting is dear: a subnet holding thousands of
// reservations makes its next refresh wait a multiple of what the last one took, so the refresh
// (the counts, read from the bitmaps, and the status write) stays a bounded share of the work.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { subnetRefreshDelay } from '../../shared/domain/subnet-status.ts';
import { createSubnetStatusRefresher } from '../../shared/reconcile/subnet.ts';
import { ensureSubnetRegistered } from '../../shared/reconcile/subnet-registration.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;
beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.79.0.0/20', gateway: '10.79.0.1' });
});
afterAll(async () => {
  await h?.stop();
});

it('after refreshing a subnet of 3,000 reservations, a change waits costFactor times that refresh', async () => {
  const base = 5;
  const refresher = createSubnetStatusRefresher(h.deps, base);
  expect(refresher.delay()).toBe(base);
  expect((await ensureSubnetRegistered(h.deps, h.subnet)).status).toBe('ready');
  for (let i = 0; i < 3000; i += 100)
    await Promise.all(
      Array.from({ length: 100 }, (_, j) =>
        h.ports.allocator.allocate({ subnet: h.subnet, owner: `vip/c-${i + j}` }),
      ),
    );
  const started = performance.now();
  refresher.changed(h.subnet);
  await refresher.flush();
  const took = performance.now() - started;
  // The status shows the count, so the refresh did count the reservations.
  expect((await h.admin.get('Subnet', { name: h.subnet })).status).toMatchObject({ v4usingIPs: 3000 });
  const delay = refresher.delay();
  expect(delay).toBeGreaterThan(base);
  expect(delay).toBeLessThanOrEqual(subnetRefreshDelay(base, took));
});
