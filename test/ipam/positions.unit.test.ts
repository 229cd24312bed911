// addressOf's number fast paths (IPv4, IPv6 offsets below 2^48) agree with the exact bigint path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp } from '../../shared/domain/ip-codec.ts';
import { addressOf, valueAt } from '../../shared/ipam/positions.ts';
import { subnetRange } from '../../shared/ipam/subnet-range.ts';

const exact = (fr: Parameters<typeof valueAt>[0], pos: string) =>
  formatIp({ family: fr.family, value: valueAt(fr, pos) });

describe('addressOf', () => {
  it('IPv4: the same text as the bigint path', () => {
    const fr = subnetRange({ name: 'a', cidrBlock: '10.0.0.0/8' }).v4;
    if (!fr) throw new Error('no v4');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65535 }), (page, bit) => {
        expect(addressOf(fr, `${page}:${bit}`)).toBe(exact(fr, `${page}:${bit}`));
      }),
    );
  });

  it('IPv6: the same text as the bigint path, zero runs, near and far pages', () => {
    for (const cidrBlock of [
      'fd00:10:16::/64',
      '2001:db8:ffff:ffff::/64',
      'fd00:0:0:10::/60',
      '::/64',
      'fd00::ffff:0:0:0/112',
    ]) {
      const fr = subnetRange({ name: 'b', cidrBlock }).v6;
      if (!fr) throw new Error('no v6');
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: 0, max: 70000 }),
            fc.constantFrom(65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40),
          ),
          fc.integer({ min: 0, max: 65535 }),
          (page, bit) => {
            if (BigInt(page) * 65536n + BigInt(bit) >= fr.cidr.size) return;
            expect(addressOf(fr, `${page}:${bit}`)).toBe(exact(fr, `${page}:${bit}`));
          },
        ),
      );
    }
  });
});
