import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';
import {
  canonicalIp,
  canonicalMac,
  formatUsingRange,
  parseIp,
  subnetRange,
} from '../../shared/ipam/index.ts';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof DomainError ? e.reason : String(e);
  }
  return 'no error';
};

describe('subnetRange (SPEC §2 usable range, gateway, excludeIps)', () => {
  it('IPv4 /16: network+1 .. broadcast-1, gateway defaults to the first usable', () => {
    const r = subnetRange({ name: 'ovn-default', cidrBlock: '10.16.0.0/16' });
    expect(r.protocol).toBe('IPv4');
    expect(r.gateway).toBe('10.16.0.1');
    expect(r.v4?.usableCount).toBe(65534n);
    expect(r.v4?.excludedCount).toBe(1n);
  });
  it('/31 and /32 use every address', () => {
    expect(subnetRange({ name: 'a', cidrBlock: '10.0.0.0/31' }).v4?.usableCount).toBe(2n);
    expect(subnetRange({ name: 'a', cidrBlock: '10.0.0.7/32' }).v4?.usableCount).toBe(1n);
    expect(subnetRange({ name: 'a', cidrBlock: '10.0.0.0/30' }).v4?.usableCount).toBe(2n);
  });
  it('IPv6 usable ::1 .. all-ones-1 and canonical lower case', () => {
    const r = subnetRange({ name: 'v6', cidrBlock: 'FD00:10:16::/64', gateway: 'FD00:10:16::FFFF' });
    expect(r.cidrBlock).toBe('fd00:10:16::/64');
    expect(r.gateway).toBe('fd00:10:16::ffff');
    expect(r.v6?.usableCount).toBe((1n << 64n) - 2n);
  });
  it('dual stack, excludeIps with ranges of both families, gateway inside excludes counted once', () => {
    const r = subnetRange({
      name: 'd',
      cidrBlock: 'fd00::/120,10.1.0.0/24',
      excludeIps: ['10.1.0.1..10.1.0.10', 'fd00::5', '10.1.0.0'],
    });
    expect(r.protocol).toBe('Dual');
    expect(r.cidrBlock).toBe('10.1.0.0/24,fd00::/120');
    expect(r.v4?.excludedCount).toBe(10n); // .1-.10 (network clipped), gateway .1 inside
    expect(r.v6?.excludedCount).toBe(2n); // ::5 + gateway ::1
  });
  it('rejects bad specs with InvalidSubnet', () => {
    expect(reasonOf(() => subnetRange({ name: 'a', cidrBlock: '10.0.0.1/24' }))).toBe('InvalidSubnet');
    expect(reasonOf(() => subnetRange({ name: 'a', cidrBlock: 'nope' }))).toBe('InvalidSubnet');
    expect(reasonOf(() => subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24,10.1.0.0/24' }))).toBe(
      'InvalidSubnet',
    );
    expect(reasonOf(() => subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24', gateway: '10.0.0.255' }))).toBe(
      'InvalidSubnet',
    );
    expect(
      reasonOf(() => subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.1.1'] })),
    ).toBe('InvalidSubnet');
    expect(
      reasonOf(() =>
        subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.9..10.0.0.3'] }),
      ),
    ).toBe('InvalidSubnet');
    expect(reasonOf(() => subnetRange({ name: 'A_b', cidrBlock: '10.0.0.0/24' }))).toBe('InvalidSubnet');
    expect(reasonOf(() => subnetRange({ name: 'a', cidrBlock: 'fd00::/48' }))).toBe('InvalidSubnet');
  });

  it('refuses two gateways of one family (the second used to replace the first silently)', () => {
    for (const gateway of ['10.0.0.1,10.0.0.2', 'fd00::1,10.0.0.1,fd00::2']) {
      let err: unknown;
      try {
        subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24,fd00::/64', gateway });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({ reason: 'InvalidSubnet', details: { field: 'gateway' } });
    }
    expect(
      subnetRange({ name: 'a', cidrBlock: '10.0.0.0/24,fd00::/64', gateway: 'fd00::1,10.0.0.1' }).gateway,
    ).toBe('10.0.0.1,fd00::1');
  });
});

describe('values', () => {
  it('parses strictly and formats canonically', () => {
    expect(parseIp('10.16.0.1')?.family).toBe(4);
    expect(parseIp('10.16.1')).toBeUndefined();
    expect(parseIp('fe80::1%eth0')).toBeUndefined();
    expect(canonicalIp('FD00:0:0:0:0:0:0:00AB')).toBe('fd00::ab');
    expect(canonicalMac('aa-bb-cc-dd-ee-f0')).toBe('AA:BB:CC:DD:EE:F0');
    expect(reasonOf(() => canonicalMac('01:00:5e:00:00:01'))).toBe('InvalidMAC');
    expect(reasonOf(() => canonicalMac('zz:00:00:00:00:01'))).toBe('InvalidMAC');
  });
  it('formats usingIPRange the kube-ovn way', () => {
    const v = (s: string) => parseIp(s)?.value ?? 0n;
    const vals = ['10.16.0.2', '10.16.0.3', '10.16.0.4', '10.16.0.5', '10.16.0.9'].map(v);
    expect(formatUsingRange(4, vals)).toBe('10.16.0.2-10.16.0.5,10.16.0.9');
  });
});

describe('formatIp agrees with ipaddr.js RFC 5952 on random addresses', () => {
  it('formats like the reference', async () => {
    const ipaddr = (await import('ipaddr.js')).default;
    const { formatIp } = await import('../../shared/ipam/index.ts');
    for (let n = 0; n < 2000; n++) {
      const bytes = Array.from({ length: 16 }, () =>
        Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256),
      );
      let value = 0n;
      for (const b of bytes) value = (value << 8n) | BigInt(b);
      const ref = (ipaddr.fromByteArray(bytes) as ReturnType<typeof ipaddr.IPv6.parse>).toRFC5952String();
      expect(formatIp({ family: 6, value })).toBe(ref);
    }
    expect(formatIp({ family: 4, value: 0xffffffffn })).toBe('255.255.255.255');
    expect(formatIp({ family: 6, value: 1n })).toBe('::1');
    expect(formatIp({ family: 6, value: 0n })).toBe('::');
  });
});
