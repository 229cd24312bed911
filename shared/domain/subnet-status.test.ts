import { describe, expect, it } from 'vitest';
import { computeSubnetStatus, parseSubnet, subnetRefreshDelay, subnetStatusEquals } from './subnet-status.ts';

const cr = (spec: object, name = 'ovn-default') => ({ metadata: { name }, spec });

describe('parseSubnet', () => {
  it('parses ovn-default and derives protocol and gateway', () => {
    expect(parseSubnet(cr({ cidrBlock: '10.16.0.0/16', default: true }))).toEqual({
      ok: true,
      subnet: {
        name: 'ovn-default',
        cidrBlock: '10.16.0.0/16',
        gateway: '10.16.0.1',
        excludeIps: [],
        namespaces: [],
        default: true,
        protocol: 'IPv4',
        provider: 'ovn',
      },
    });
  });
  it('handles dual stack, canonical forms, and partial gateways', () => {
    const r = parseSubnet(
      cr({
        cidrBlock: 'FD00:10:16::/64, 10.16.0.0/16',
        gateway: '10.16.0.254',
        excludeIps: ['10.16.0.2..10.16.0.10', ' fd00:10:16::5 ', ''],
        namespaces: ['a', 'a'],
      }),
    );
    expect(r.ok && r.subnet).toMatchObject({
      cidrBlock: '10.16.0.0/16,fd00:10:16::/64',
      gateway: '10.16.0.254,fd00:10:16::1',
      protocol: 'Dual',
      excludeIps: ['10.16.0.2..10.16.0.10', 'fd00:10:16::5'],
      namespaces: ['a'],
    });
    expect(
      parseSubnet(cr({ cidrBlock: 'fd00::/120' })).ok && parseSubnet(cr({ cidrBlock: 'fd00::/120' })),
    ).toMatchObject({ subnet: { protocol: 'IPv6' } });
  });
  it('reports clear errors', () => {
    const fields = (spec: object) => {
      const r = parseSubnet(cr(spec));
      return r.ok ? [] : r.errors.map((e) => e.field);
    };
    expect(fields({})).toEqual(['spec.cidrBlock']);
    expect(fields({ cidrBlock: '10.16.0.1/16' })).toEqual(['spec.cidrBlock']);
    expect(fields({ cidrBlock: '10.16.0.0/16,10.17.0.0/16' })).toEqual(['spec.cidrBlock']);
    expect(fields({ cidrBlock: '10.16.0.0/16', protocol: 'IPv6' })).toEqual(['spec.protocol']);
    expect(fields({ cidrBlock: '10.16.0.0/16', gateway: '10.17.0.1' })).toEqual(['spec.gateway']);
    expect(fields({ cidrBlock: '10.16.0.0/16', gateway: '10.16.0.0' })).toEqual(['spec.gateway']);
    expect(
      fields({
        cidrBlock: '10.16.0.0/16',
        excludeIps: ['10.16.0.9..10.16.0.2', 'x', '10.17.0.1', 'fd00::1', '10.16.0.1..fd00::1'],
      }),
    ).toEqual([
      'spec.excludeIps[0]',
      'spec.excludeIps[1]',
      'spec.excludeIps[2]',
      'spec.excludeIps[3]',
      'spec.excludeIps[4]',
    ]);
    expect(fields({ cidrBlock: '10.16.0.0/16', namespaces: ['Bad'] })).toEqual(['spec.namespaces[0]']);
    const r = parseSubnet(cr({ cidrBlock: 'nope' }));
    expect(!r.ok && r.errors[0]?.reason).toBe('InvalidSubnet');
  });
});

describe('computeSubnetStatus', () => {
  const counts = {
    v4AvailableIPs: 65532,
    v4UsingIPs: 1,
    v4UsingIPRange: '10.16.0.2',
    v6AvailableIPs: 0,
    v6UsingIPs: 0,
    v6UsingIPRange: '',
  };
  it('maps counts to kube-ovn field names with Ready', () => {
    const s = computeSubnetStatus({ counts, now: 't1', generation: 2 });
    expect(s).toMatchObject({
      v4availableIPs: 65532,
      v4usingIPs: 1,
      v4usingIPrange: '10.16.0.2',
      v6availableIPs: 0,
      v6usingIPrange: '',
    });
    expect(s.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'SubnetReady',
        message: expect.any(String),
        lastTransitionTime: 't1',
        observedGeneration: 2,
      },
    ]);
    const again = computeSubnetStatus({ counts, now: 't2', previous: s, generation: 2 });
    expect(subnetStatusEquals(s as unknown as Record<string, unknown>, again)).toBe(true);
    expect(subnetStatusEquals(undefined, again)).toBe(false);
  });
  it('is not ready on failure or before registration', () => {
    expect(
      computeSubnetStatus({ failure: { reason: 'InvalidSubnet', message: 'bad' }, now: 't' }).conditions[0],
    ).toMatchObject({ status: 'False', reason: 'InvalidSubnet' });
    expect(computeSubnetStatus({ now: 't' })).toMatchObject({
      v4availableIPs: 0,
      conditions: [expect.objectContaining({ status: 'False', reason: 'Pending' })],
    });
  });
});

describe('subnetRefreshDelay', () => {
  it('keeps the base delay while refreshes are cheap or unmeasured', () => {
    expect(subnetRefreshDelay(250, undefined)).toBe(250);
    expect(subnetRefreshDelay(250, 0)).toBe(250);
    expect(subnetRefreshDelay(250, Number.NaN)).toBe(250);
    expect(subnetRefreshDelay(250, 5)).toBe(250); // 20 x 5 ms = 100 ms < base
  });

  it('waits costFactor times what the last round of refreshes took, up to the cap', () => {
    expect(subnetRefreshDelay(250, 30)).toBe(600);
    expect(subnetRefreshDelay(250, 30, { costFactor: 10 })).toBe(300);
    expect(subnetRefreshDelay(250, 2_000)).toBe(10_000);
    expect(subnetRefreshDelay(250, 2_000, { maxMs: 30_000 })).toBe(30_000);
  });

  it('bounds the share of time spent refreshing to about 1 / costFactor at any size', () => {
    for (const cost of [20, 50, 200, 400]) {
      const delay = subnetRefreshDelay(250, cost);
      expect(cost / (delay + cost)).toBeLessThanOrEqual(1 / 20);
    }
  });
});
