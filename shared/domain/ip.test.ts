import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalV6, defaultGateway, fromBigInt, isUsable, parseCidr, toBigInt, usableCount } from './ip.ts';

describe('ip helpers', () => {
  it('parses CIDRs and refuses host bits', () => {
    expect(parseCidr('10.16.0.0/16')).toMatchObject({ family: 'v4', prefix: 16, text: '10.16.0.0/16' });
    expect(parseCidr('FD00:10:16::/64')?.text).toBe('fd00:10:16::/64');
    expect(parseCidr('10.16.0.1/16')).toBeUndefined();
    expect(parseCidr('10.16.0.0/33')).toBeUndefined();
    expect(parseCidr('10.16.0.0')).toBeUndefined();
    expect(parseCidr('10.16.0.0/')).toBeUndefined();
  });
  it('counts usable addresses as SPEC §2 defines them', () => {
    expect(usableCount(parseCidr('10.16.0.0/16')!)).toBe(65534n);
    expect(usableCount(parseCidr('10.0.0.0/31')!)).toBe(2n);
    expect(usableCount(parseCidr('10.0.0.0/32')!)).toBe(1n);
    expect(usableCount(parseCidr('fd00::/64')!)).toBe(2n ** 64n - 2n);
    expect(defaultGateway(parseCidr('10.16.0.0/16')!)).toBe('10.16.0.1');
    expect(defaultGateway(parseCidr('fd00::/120')!)).toBe('fd00::1');
    expect(isUsable(parseCidr('10.16.0.0/16')!, '10.16.255.255')).toBe(false);
    expect(isUsable(parseCidr('10.16.0.0/16')!, 'fd00::1')).toBe(false);
  });
  it('property: BigInt conversion round-trips', () => {
    fc.assert(fc.property(fc.ipV4(), (a) => fromBigInt(toBigInt(a), 'v4') === a));
    fc.assert(fc.property(fc.ipV6(), (a) => fromBigInt(toBigInt(a), 'v6') === canonicalV6(a)));
  });
});
