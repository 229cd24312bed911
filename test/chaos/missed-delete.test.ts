// A pod deleted while the relay is down: the new relay lists nothing of it, so no delete event is
// ever sent (pods carry no finalizer). The next resync's Subnet event must still free the pod's
// address and remove its NB port (shared/reconcile/sweep.ts), while a live pod keeps its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, podObject, startE2E } from '../e2e/harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E({ resync: '2s' });
});
afterAll(async () => {
  await e?.stop();
});

const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'];

describe('a pod delete the relay never saw', () => {
  it('is healed by the next resync: address released, port removed, the live pod untouched', async () => {
    await e.apply(podObject('default', 'gone'));
    await e.apply(podObject('default', 'stays'));
    const gone = await e.waitPod('default', 'gone', (p) => !!ipOf(p), 'an address');
    const stays = await e.waitPod('default', 'stays', (p) => !!ipOf(p), 'an address');
    expect(await e.allocator.get('ovn-default', 'pod/gone.default')).toMatchObject({ v4: ipOf(gone) });

    await e.stack.relay!.stop('SIGKILL');
    await e.kube.delete('Pod', { namespace: 'default', name: 'gone' });
    await e.waitGone('Pod', 'gone', 'default');
    await e.stack.startRelay();

    await expect
      .poll(async () => e.allocator.get('ovn-default', 'pod/gone.default'), {
        timeout: 15_000,
        interval: 200,
      })
      .toBeUndefined();
    const portNames = async () =>
      (await e.nbctl('--bare', '--columns=name', 'list', 'logical_switch_port')).trim().split(/\s+/).sort();
    await expect.poll(portNames, { timeout: 5_000 }).toEqual(['stays.default']);
    expect(await e.allocator.get('ovn-default', 'pod/stays.default')).toMatchObject({ v4: ipOf(stays) });
    await expect
      .poll(async () => (await e.kube.getSubnet('ovn-default'))?.status?.v4usingIPs, { timeout: 5_000 })
      .toBe(1);
  });
});
