import { describe, expect, it } from 'vitest';
import {
  besideAddressChange,
  besideView,
  besideVipDecision,
  inRanges,
  parseRanges,
  VIP_RANGE_ANNOTATION,
} from './beside-kube-ovn.ts';

const subnet = (annotation: string | undefined, excludeIps: string[] = ['10.16.200.0..10.16.200.255']) => ({
  name: 'ovn-default',
  cidrBlock: '10.16.0.0/16',
  excludeIps,
  ...(annotation ? { annotations: { [VIP_RANGE_ANNOTATION]: annotation } } : {}),
});

describe('besideView', () => {
  it('gives our allocator only the Vip range: everything else of the CIDR is excluded', () => {
    const view = besideView(subnet('10.16.200.1..10.16.200.254'));
    expect(view).toEqual({
      ok: true,
      vipRange: [
        { family: 4, first: parseRanges(['10.16.200.1']).ranges[0]!.first, last: expect.any(BigInt) },
      ],
      allocatorExcludeIps: ['10.16.0.1..10.16.200.0', '10.16.200.255..10.16.255.254'],
    });
  });

  it('accepts a range kube-ovn excludes in pieces, and several ranges', () => {
    const view = besideView(
      subnet('10.16.200.10..10.16.200.20,10.16.201.5', [
        '10.16.200.0..10.16.200.15',
        '10.16.200.16..10.16.200.30',
        '10.16.201.5',
      ]),
    );
    expect(view.ok && view.allocatorExcludeIps).toEqual([
      '10.16.0.1..10.16.200.9',
      '10.16.200.21..10.16.201.4',
      '10.16.201.6..10.16.255.254',
    ]);
  });

  it('refuses a subnet without a range, a range kube-ovn could hand out, or one outside the CIDR', () => {
    expect(besideView(subnet(undefined))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no vip.kubeovn.io\/vip-range/),
    });
    expect(besideView(subnet('10.16.200.250..10.16.201.3'))).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /not inside the Subnet's excludeIps: kube-ovn-controller could hand those addresses to pods/,
      ),
    });
    expect(besideView(subnet('10.17.0.1..10.17.0.9', ['10.17.0.0..10.17.0.255']))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not inside 10.16.0.0\/16/),
    });
    expect(besideView(subnet('10.16.200.9..10.16.200.1'))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not an address or a range/),
    });
  });
});

describe('besideVipDecision', () => {
  const range = parseRanges(['10.16.200.1..10.16.200.254']).ranges;
  it('keeps dynamic Vips and fixed addresses inside the range ours', () => {
    expect(besideVipDecision({ name: 'a' }, range)).toEqual({ kind: 'ours' });
    expect(besideVipDecision({ name: 'a', v4ip: '10.16.200.7' }, range)).toEqual({ kind: 'ours' });
  });

  it("refuses an address of kube-ovn's part: kube-ovn's IPAM decides those, against its pods", () => {
    expect(besideVipDecision({ name: 'a', v4ip: '10.16.0.9' }, range)).toEqual({
      kind: 'refuse',
      message: expect.stringMatching(/10.16.0.9 is outside this system's Vip range/),
    });
  });

  it("admission refuses an UPDATE that sets or changes addresses or the MAC (kube-ovn-controller's own choice)", () => {
    expect(besideAddressChange(undefined, { v4ip: '10.16.0.9' })).toBeUndefined();
    expect(besideAddressChange({}, {})).toBeUndefined();
    expect(besideAddressChange({ v4ip: '10.16.200.5' }, { v4ip: '10.16.200.5' })).toBeUndefined();
    expect(besideAddressChange({}, { v4ip: '10.16.0.9', macAddress: '00:00:00:12:34:56' })).toMatch(
      /spec.v4ip, spec.macAddress cannot be set or changed after creation beside kube-ovn-controller/,
    );
    expect(
      besideAddressChange({ v4ip: '10.16.200.5' }, { v4ip: '10.16.200.5', macAddress: '00:00:00:12:34:56' }),
    ).toMatch(/spec.macAddress/);
  });

  it('inRanges compares within a family', () => {
    expect(inRanges('10.16.200.1', range)).toBe(true);
    expect(inRanges('10.16.200.255', range)).toBe(false);
    expect(inRanges('fd00::1', range)).toBe(false);
  });
});
