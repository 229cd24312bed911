import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reason } from './errors.ts';
import {
  checkAddressesInSubnet,
  checkImmutable,
  normaliseMac,
  parseVipSpec,
  selectorStrings,
  vipUsage,
} from './vip-spec.ts';

const ok = (raw: unknown) => {
  const r = parseVipSpec(raw);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r.spec;
};
const errs = (raw: unknown) => {
  const r = parseVipSpec(raw);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
};

const hexByte = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
const macArb = fc.array(hexByte, { minLength: 6, maxLength: 6 }).map((b) => b.join(':'));

describe('parseVipSpec', () => {
  it('accepts the seed examples', () => {
    expect(ok({ subnet: 'ovn-default', type: '' })).toEqual({
      subnet: 'ovn-default',
      type: '',
      selector: [],
    });
    expect(ok({ subnet: 'ovn-default', v4ip: '10.16.0.121' })).toMatchObject({ v4ip: '10.16.0.121' });
    const aap = ok({ subnet: 'ovn-default', namespace: 'default', selector: ['app: aap1'] });
    expect(aap.selector).toEqual([{ key: 'app', value: 'aap1' }]);
    expect(vipUsage(aap)).toBe('aap');
    expect(selectorStrings(aap)).toEqual(['app: aap1']);
    const slr = ok({ subnet: 'ovn-default', type: 'switch_lb_vip' });
    expect(vipUsage(slr)).toBe('switch_lb_vip');
    expect(vipUsage(ok({ subnet: 's' }))).toBe('reservation');
  });

  it('requires a subnet', () => {
    for (const raw of [{}, { subnet: '' }, { subnet: '  ' }, { subnet: 3 }]) {
      expect(errs(raw)).toContainEqual(
        expect.objectContaining({ field: 'spec.subnet', reason: Reason.InvalidSpec }),
      );
    }
    expect(errs(null)[0]).toMatchObject({ field: 'spec', reason: Reason.InvalidSpec });
    expect(errs([])[0]).toMatchObject({ field: 'spec' });
  });

  it('refuses unknown types', () => {
    expect(errs({ subnet: 's', type: 'lb' })).toEqual([
      expect.objectContaining({ field: 'spec.type', reason: Reason.InvalidType }),
    ]);
    expect(errs({ subnet: 's', type: 5 })[0]?.reason).toBe(Reason.InvalidType);
  });

  it('canonicalises IPv6 to lower case and refuses family mix-ups', () => {
    expect(ok({ subnet: 's', v6ip: 'FD00:10:16::0ABC' }).v6ip).toBe('fd00:10:16::abc');
    expect(ok({ subnet: 's', v4ip: ' 10.16.0.5 ' }).v4ip).toBe('10.16.0.5');
    const e = errs({ subnet: 's', v4ip: 'fd00::1', v6ip: '10.0.0.1' });
    expect(e.map((x) => [x.field, x.reason])).toEqual([
      ['spec.v4ip', Reason.InvalidAddress],
      ['spec.v6ip', Reason.InvalidAddress],
    ]);
    expect(e[0]?.message).toContain('IPv6');
    for (const bad of ['10.16.0', '10.16.0.256', '010.16.0.1', 'abc', '10.16.0.1/16']) {
      expect(errs({ subnet: 's', v4ip: bad })[0]?.reason).toBe(Reason.InvalidAddress);
    }
    expect(errs({ subnet: 's', v6ip: 'fe80::1%eth0' })[0]?.reason).toBe(Reason.InvalidAddress);
  });

  it('normalises MACs to upper case and refuses bad ones', () => {
    expect(ok({ subnet: 's', macAddress: '00:00:00:f0:db:25' }).macAddress).toBe('00:00:00:F0:DB:25');
    for (const bad of [
      '00:00:00:f0:db',
      '00-00-00-F0-DB-25',
      '01:00:5e:00:00:01',
      '00:00:00:00:00:00',
      'zz:00:00:00:00:00',
    ]) {
      expect(errs({ subnet: 's', macAddress: bad })[0]).toMatchObject({
        field: 'spec.macAddress',
        reason: Reason.InvalidMAC,
      });
    }
  });

  it('trims selector items and names a malformed one', () => {
    const spec = ok({ subnet: 's', namespace: 'ns1', selector: ['  app :  web ', 'tier: db', 'app: web'] });
    expect(spec.selector).toEqual([
      { key: 'app', value: 'web' },
      { key: 'tier', value: 'db' },
    ]);
    const e = errs({ subnet: 's', namespace: 'ns1', selector: ['app: web', 'noColon', ': x', 'a: b c', 7] });
    expect(e.map((x) => x.field)).toEqual([
      'spec.selector[4]',
      'spec.selector[1]',
      'spec.selector[2]',
      'spec.selector[3]',
    ]);
    expect(e.every((x) => x.reason === Reason.InvalidSelector)).toBe(true);
    expect(e[1]?.message).toContain('noColon');
    expect(errs({ subnet: 's', namespace: 'n', selector: 'app: web' })[0]?.field).toBe('spec.selector');
  });

  it('accepts prefixed keys and empty values, refuses bad keys', () => {
    expect(
      ok({ subnet: 's', namespace: 'n', selector: ['example.com/role: ', 'a.b-c_d: X.y'] }).selector,
    ).toEqual([
      { key: 'example.com/role', value: '' },
      { key: 'a.b-c_d', value: 'X.y' },
    ]);
    expect(errs({ subnet: 's', namespace: 'n', selector: ['-bad: x'] })[0]?.reason).toBe(
      Reason.InvalidSelector,
    );
    expect(errs({ subnet: 's', namespace: 'n', selector: [`${'k'.repeat(64)}: x`] })[0]?.reason).toBe(
      Reason.InvalidSelector,
    );
  });

  it('checks the namespace and its combinations', () => {
    expect(errs({ subnet: 's', namespace: 'Bad_NS' })[0]).toMatchObject({
      field: 'spec.namespace',
      reason: Reason.InvalidSpec,
    });
    // kube-ovn master's switch_lb_vip objects carry a namespace: kept, and the Vip is a front end.
    const lb = ok({ subnet: 's', namespace: 'ns', type: 'switch_lb_vip' });
    expect(vipUsage(lb)).toBe('switch_lb_vip');
    expect(errs({ subnet: 's', selector: ['app: x'] })[0]).toMatchObject({
      field: 'spec.selector',
      reason: Reason.InvalidSelector,
    });
    expect(ok({ subnet: 's', selector: [] }).selector).toEqual([]);
  });

  it('reports all problems at once', () => {
    const e = errs({ type: 'x', v4ip: 'y', macAddress: 'z' });
    expect(e.map((x) => x.field).sort()).toEqual([
      'spec.macAddress',
      'spec.subnet',
      'spec.type',
      'spec.v4ip',
    ]);
  });

  it('property: every valid IPv4/IPv6/MAC round-trips to its canonical form', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV6(), macArb, (v4, v6, mac) => {
        const first = Number.parseInt(mac.slice(0, 2), 16);
        const unicast = (first & 1) === 0 && mac !== '00:00:00:00:00:00';
        const r = parseVipSpec({ subnet: 's', v4ip: v4, v6ip: v6.toUpperCase(), macAddress: mac });
        if (!unicast) return !r.ok && r.errors.every((e) => e.field === 'spec.macAddress');
        if (!r.ok) return false;
        const again = parseVipSpec({
          subnet: 's',
          v4ip: r.spec.v4ip,
          v6ip: r.spec.v6ip,
          macAddress: r.spec.macAddress,
        });
        return (
          again.ok &&
          JSON.stringify(again.spec) === JSON.stringify(r.spec) &&
          r.spec.v6ip === r.spec.v6ip?.toLowerCase()
        );
      }),
    );
  });

  it('property: parse never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const r = parseVipSpec(raw);
        return r.ok || r.errors.length > 0;
      }),
    );
  });
});

describe('normaliseMac', () => {
  it('upper-cases', () => expect(normaliseMac('0a:bb:cc:dd:ee:ff')).toBe('0A:BB:CC:DD:EE:FF'));
});

describe('checkAddressesInSubnet', () => {
  const subnet = { name: 'ovn-default', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' };
  it('accepts an address inside the CIDR, including excluded ones', () => {
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.121' }, subnet)).toEqual([]);
    expect(checkAddressesInSubnet({}, subnet)).toEqual([]);
  });
  it('refuses out-of-range, network, broadcast and missing families', () => {
    expect(checkAddressesInSubnet({ v4ip: '10.17.0.1' }, subnet)[0]).toMatchObject({
      reason: Reason.AddressOutOfRange,
      field: 'spec.v4ip',
    });
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.0' }, subnet)[0]?.reason).toBe(Reason.AddressOutOfRange);
    expect(checkAddressesInSubnet({ v4ip: '10.16.255.255' }, subnet)[0]?.message).toContain('broadcast');
    expect(checkAddressesInSubnet({ v6ip: 'fd00::5' }, subnet)[0]).toMatchObject({
      reason: Reason.AddressOutOfRange,
      field: 'spec.v6ip',
    });
    expect(checkAddressesInSubnet({ v6ip: 'fd00::5' }, subnet)[0]?.message).toContain('no IPv6');
  });
  it('refuses the gateway, explicit or default', () => {
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.1' }, subnet)[0]).toMatchObject({
      reason: Reason.AddressConflict,
    });
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.1' }, { cidrBlock: '10.16.0.0/16' })[0]?.reason).toBe(
      Reason.AddressConflict,
    );
    expect(
      checkAddressesInSubnet({ v4ip: '10.16.0.1' }, { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.254' }),
    ).toEqual([]);
    const dual = { cidrBlock: '10.16.0.0/16,fd00:10:16::/64', gateway: '10.16.0.1,fd00:10:16::1' };
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.9', v6ip: 'fd00:10:16::1' }, dual)).toEqual([
      expect.objectContaining({ field: 'spec.v6ip', reason: Reason.AddressConflict }),
    ]);
    expect(checkAddressesInSubnet({ v4ip: '10.16.0.9', v6ip: 'fd00:10:16::9' }, dual)).toEqual([]);
  });
  it('uses every address of a /32 or /31', () => {
    expect(
      checkAddressesInSubnet({ v4ip: '10.0.0.1' }, { cidrBlock: '10.0.0.0/31', gateway: '10.0.0.0' }),
    ).toEqual([]);
  });
  it('reports a bad cidrBlock', () => {
    expect(checkAddressesInSubnet({ v4ip: '10.0.0.1' }, { cidrBlock: '10.0.0.1/8' })[0]?.reason).toBe(
      Reason.InvalidSubnet,
    );
  });
});

describe('checkImmutable', () => {
  const assigned = { subnet: 'ovn-default', type: '', v4ip: '10.16.0.12', mac: '00:00:00:F0:DB:25' };
  const spec = (extra: object) => ok({ subnet: 'ovn-default', ...extra });
  it('allows empty fields and re-stating the assigned values', () => {
    expect(checkImmutable(assigned, spec({}))).toEqual([]);
    expect(checkImmutable(assigned, spec({ v4ip: '10.16.0.12', macAddress: '00:00:00:f0:db:25' }))).toEqual(
      [],
    );
    expect(checkImmutable({ subnet: '', type: '' }, spec({ type: 'switch_lb_vip' }))).toEqual([]);
    expect(checkImmutable({ ...assigned, v6ip: 'FD00::A' }, spec({ v6ip: 'fd00::a' }))).toEqual([]);
  });
  it('refuses each changed field by name', () => {
    const e = checkImmutable(
      assigned,
      ok({
        subnet: 'other',
        type: 'switch_lb_vip',
        v4ip: '10.16.0.13',
        v6ip: 'fd00::1',
        macAddress: '00:00:00:00:00:01',
      }),
    );
    expect(e.map((x) => x.field)).toEqual([
      'spec.subnet',
      'spec.type',
      'spec.v4ip',
      'spec.v6ip',
      'spec.macAddress',
    ]);
    expect(e.every((x) => x.reason === Reason.ImmutableField)).toBe(true);
    expect(e[2]?.message).toContain('10.16.0.12');
  });
});

describe('checkImmutable properties', () => {
  it('property: re-stating the assignment is always allowed; changing one address is refused by name', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.ipV4(),
        fc.ipV6(),
        fc.constantFrom('', 'switch_lb_vip'),
        (v4, other, v6, type) => {
          const spec = ok({ subnet: 'net', type, v4ip: v4, v6ip: v6 });
          const assigned = { subnet: 'net', type, v4ip: spec.v4ip, v6ip: v6.toUpperCase() };
          expect(checkImmutable(assigned, spec)).toEqual([]);
          const moved = checkImmutable(assigned, { ...spec, v4ip: other });
          expect(moved.map((e) => e.field)).toEqual(other === v4 ? [] : ['spec.v4ip']);
        },
      ),
    );
  });
});
