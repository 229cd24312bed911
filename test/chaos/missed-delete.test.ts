// What no event points at again (shared/reconcile/sweep.ts): a pod deleted while the relay is
// down (the new relay lists nothing of it, and pods carry no finalizer), and a reservation and
// virtual port written for a Vip after its delete path ran. The next resync's Subnet event must
// free the addresses and remove the ports, while live objects keep theirs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, podObject, startE2E, vipObject } from '../e2e/harness.ts';

let e: E2E;
beforeAll(async () => {
  // No settled-version store: with it, the new relay sends the lost pod a Reference-mode delete
  // (test/curve/restart-no-writes.test.ts), and the sweep this file tests would not be needed.
  e = await startE2E({ resync: '2s', relayState: false });
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

describe('rows of a Vip that no longer exists', () => {
  it('are removed by the next resync; a live Vip keeps its own', async () => {
    await e.apply(vipObject('alive', { subnet: 'ovn-default', namespace: 'default', selector: ['a: b'] }));
    const alive = await e.waitVip('alive', (v) => v.status?.ready === true);
    // What a late write for a just-deleted Vip leaves: its reservation and its virtual port.
    await e.allocator.allocate({ subnet: 'ovn-default', owner: 'vip/ghost' });
    await e.nbctl(
      '--',
      'lsp-add',
      'ovn-default',
      'ghost',
      '--',
      'lsp-set-type',
      'ghost',
      'virtual',
      '--',
      'set',
      'logical_switch_port',
      'ghost',
      'external_ids:ls=ovn-default',
      'external_ids:vendor=kube-ovn',
    );
    await expect
      .poll(async () => e.allocator.get('ovn-default', 'vip/ghost'), { timeout: 15_000, interval: 200 })
      .toBeUndefined();
    await expect.poll(async () => e.portOptions('ghost'), { timeout: 5_000 }).toBeUndefined();
    expect(
      (await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch_port', 'name=ghost')).trim(),
    ).toBe('');
    expect(await e.allocator.get('ovn-default', 'vip/alive')).toMatchObject({ v4: alive.status?.v4ip });
    expect(await e.portOptions('alive')).toMatchObject({ 'virtual-ip': alive.status?.v4ip });
  });
});
