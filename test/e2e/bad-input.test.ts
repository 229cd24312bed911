// The bad-input matrix through the relay: every refused Vip shows Ready=False with its own reason
// and a message naming what to fix, and nothing changes: no reservation, no OVN row, the same
// subnet counts, the holder of a contested address untouched. Then the immutable fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
  await e.apply({
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: 'tiny' },
    // usable .1 and .2; .1 is the gateway, so exactly one address can be reserved
    spec: { cidrBlock: '10.99.0.0/30', gateway: '10.99.0.1' },
  });
  await e.apply(
    vipObject('holder', { subnet: 'ovn-default', v4ip: '10.16.0.50', macAddress: '00:00:00:AA:BB:CC' }),
  );
  await e.waitVip('holder', (v) => v.status?.ready === true);
  await e.apply(vipObject('tiny-1', { subnet: 'tiny' }));
  await e.waitVip('tiny-1', (v) => v.status?.ready === true);
});
afterAll(async () => {
  await e?.stop();
});

const usingIPs = async (subnet: string) => (await e.allocator.counts(subnet)).v4UsingIPs;

const cases: { name: string; spec: Record<string, unknown>; reason: string; message: RegExp }[] = [
  { name: 'no-such-subnet', spec: { subnet: 'nope' }, reason: 'SubnetNotFound', message: /nope/ },
  {
    name: 'out-of-range',
    spec: { subnet: 'ovn-default', v4ip: '10.17.0.5' },
    reason: 'AddressOutOfRange',
    message: /10\.17\.0\.5 is outside 10\.16\.0\.0\/16/,
  },
  {
    name: 'broadcast',
    spec: { subnet: 'ovn-default', v4ip: '10.16.255.255' },
    reason: 'AddressOutOfRange',
    message: /broadcast/,
  },
  {
    name: 'gateway',
    spec: { subnet: 'ovn-default', v4ip: '10.16.0.1' },
    reason: 'AddressConflict',
    message: /gateway/,
  },
  {
    name: 'taken',
    spec: { subnet: 'ovn-default', v4ip: '10.16.0.50' },
    reason: 'AddressConflict',
    message: /vip\/holder/,
  },
  {
    name: 'bad-address',
    spec: { subnet: 'ovn-default', v4ip: '10.16.0.300' },
    reason: 'InvalidAddress',
    message: /10\.16\.0\.300/,
  },
  {
    name: 'v6-in-v4',
    spec: { subnet: 'ovn-default', v6ip: 'fd00::5' },
    reason: 'AddressOutOfRange',
    message: /no IPv6 CIDR/,
  },
  {
    name: 'mac-taken',
    spec: { subnet: 'ovn-default', macAddress: '00:00:00:aa:bb:cc' },
    reason: 'MACConflict',
    message: /00:00:00:AA:BB:CC/,
  },
  {
    name: 'mac-multicast',
    spec: { subnet: 'ovn-default', macAddress: '01:00:5E:00:00:01' },
    reason: 'InvalidMAC',
    message: /01:00:5E:00:00:01/,
  },
  {
    name: 'bad-selector',
    spec: { subnet: 'ovn-default', namespace: 'default', selector: ['app aap1'] },
    reason: 'InvalidSelector',
    message: /app aap1/,
  },
  { name: 'tiny-2', spec: { subnet: 'tiny' }, reason: 'SubnetFull', message: /tiny/ },
];

describe('refused Vips', () => {
  it.each(cases)('$name: Ready=False $reason, nothing reserved', async ({ name, spec, reason, message }) => {
    const before = { main: await usingIPs('ovn-default'), tiny: await usingIPs('tiny') };
    await e.apply(vipObject(name, spec));
    const v = await e.waitVip(name, (x) => readyCondition(x)?.status === 'False', 'refused');
    expect(readyCondition(v)?.reason).toBe(reason);
    expect(readyCondition(v)?.message).toMatch(message);
    expect(v.status?.ready).toBe(false);
    expect(v.status?.v4ip ?? '').toBe('');
    // nothing changed
    for (const subnet of ['ovn-default', 'tiny'])
      expect(await e.allocator.get(subnet, `vip/${name}`)).toBeUndefined();
    expect(await e.portOptions(name)).toBeUndefined();
    expect({ main: await usingIPs('ovn-default'), tiny: await usingIPs('tiny') }).toEqual(before);
    const holder = await e.vip('holder');
    expect(holder?.status).toMatchObject({ v4ip: '10.16.0.50', mac: '00:00:00:AA:BB:CC', ready: true });
  });

  it('an unknown type is refused by the API server itself (CRD schema), so nothing is stored', async () => {
    await expect(e.apply(vipObject('weird', { subnet: 'ovn-default', type: 'floating' }))).rejects.toThrow(
      /type/,
    );
    expect(await e.vip('weird')).toBeUndefined();
  });
});

describe('immutable fields', () => {
  it('refuses a change of v4ip, subnet or macAddress once assigned, and keeps the address', async () => {
    await e.apply(vipObject('pinned', { subnet: 'ovn-default', v4ip: '10.16.0.60' }));
    const ready = await e.waitVip('pinned', (v) => v.status?.ready === true);
    for (const [field, value] of [
      ['v4ip', '10.16.0.61'],
      ['subnet', 'tiny'],
      ['macAddress', '00:00:00:12:34:56'],
    ] as const) {
      await e.kube.patch('Vip', { name: 'pinned' }, { spec: { [field]: value } });
      const v = await e.waitVip(
        'pinned',
        (x) =>
          readyCondition(x)?.reason === 'ImmutableField' &&
          readyCondition(x)!.message.includes(`spec.${field}`),
        `${field} refused`,
      );
      expect(v.status?.v4ip).toBe('10.16.0.60');
      expect(v.status?.mac).toBe(ready.status?.mac);
      expect(await e.allocator.get('ovn-default', 'vip/pinned')).toMatchObject({
        v4: '10.16.0.60',
        mac: ready.status?.mac,
      });
      expect(await e.allocator.get('ovn-default', 'vip/pinned-x')).toBeUndefined();
      // undo the change: Ready again, same address
      await e.kube.patch(
        'Vip',
        { name: 'pinned' },
        {
          spec: {
            [field]: field === 'macAddress' ? null : field === 'subnet' ? 'ovn-default' : '10.16.0.60',
          },
        },
      );
      await e.waitVip('pinned', (x) => x.status?.ready === true, 'ready again');
    }
    expect(await e.allocator.get('ovn-default', 'vip/pinned')).toMatchObject({ v4: '10.16.0.60' });
  });

  it('accepts a fixed address equal to the one already assigned', async () => {
    const v = await e.vip('pinned');
    await e.kube.patch('Vip', { name: 'pinned' }, { spec: { macAddress: v?.status?.mac } });
    await new Promise((r) => setTimeout(r, 300));
    const after = await e.waitVip('pinned', (x) => x.status?.ready === true);
    expect(readyCondition(after)?.reason).toBe('Reserved');
  });
});

describe('deletion', () => {
  it('releases everything of refused and ready Vips, and the counts return to where they were', async () => {
    const audit = await e.allocator.audit('ovn-default');
    expect(audit).toEqual([]);
    for (const c of cases) await e.kube.delete('Vip', { name: c.name });
    for (const name of ['holder', 'tiny-1', 'pinned']) await e.kube.delete('Vip', { name });
    for (const name of [...cases.map((c) => c.name), 'holder', 'tiny-1', 'pinned'])
      await e.waitGone('Vip', name);
    await expect.poll(() => usingIPs('ovn-default'), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => usingIPs('tiny'), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(async () => (await e.kube.getSubnet('ovn-default'))?.status?.v4availableIPs, { timeout: 10_000 })
      .toBe(65534 - 1);
    await expect
      .poll(async () => (await e.kube.getSubnet('tiny'))?.status?.v4availableIPs, { timeout: 10_000 })
      .toBe(1);
    expect(await e.allocator.audit('ovn-default')).toEqual([]);
    expect(await e.allocator.audit('tiny')).toEqual([]);
  });
});
