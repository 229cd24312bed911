import { describe, expect, it } from 'vitest';
import type { SubnetResource } from '../domain/types.ts';
import type { AdmissionRequest } from './review.ts';
import { reviewVip } from './vip.ts';

const subnets: Record<string, SubnetResource> = {
  'ovn-default': {
    metadata: { name: 'ovn-default' },
    spec: { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' },
  },
  dual: { metadata: { name: 'dual' }, spec: { cidrBlock: '10.20.0.0/24,fd00:20::/64' } },
  leaving: {
    metadata: { name: 'leaving', deletionTimestamp: '2026-01-01T00:00:00Z' },
    spec: { cidrBlock: '10.30.0.0/24' },
  },
};
const lookup = async (name: string) => subnets[name];

const req = (spec: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'u-1',
  kind: { group: 'kubeovn.io', version: 'v1', kind: 'Vip' },
  operation: 'CREATE',
  name: 'v',
  object: { metadata: { name: 'v' }, spec },
  ...extra,
});
const verdict = async (r: AdmissionRequest) => {
  const res = await reviewVip(r, lookup);
  expect(res.uid).toBe(r.uid);
  return res.allowed ? 'allowed' : (res.status?.message ?? '');
};
const causes = async (r: AdmissionRequest) =>
  (await reviewVip(r, lookup)).status?.details?.causes?.map((c) => c.reason);

describe('Vip admission', () => {
  it("allows the seed's Vips", async () => {
    expect(await verdict(req({ subnet: 'ovn-default', type: '' }))).toBe('allowed');
    expect(await verdict(req({ subnet: 'ovn-default', v4ip: '10.16.0.121' }))).toBe('allowed');
    expect(await verdict(req({ subnet: 'ovn-default', namespace: 'default', selector: ['app: aap1'] }))).toBe(
      'allowed',
    );
    expect(await verdict(req({ subnet: 'ovn-default', type: 'switch_lb_vip' }))).toBe('allowed');
    expect(await verdict(req({ subnet: 'dual', v4ip: '10.20.0.9', v6ip: 'FD00:20::9' }))).toBe('allowed');
  });

  it('refuses what kube-ovn refuses', async () => {
    expect(await verdict(req({ subnet: '' }))).toMatch(/spec.subnet is required/);
    expect(await verdict(req({ type: '' }))).toMatch(/spec.subnet is required/);
    expect(await verdict(req({ subnet: 'nope' }))).toBe('subnet nope not found');
    expect(await causes(req({ subnet: 'nope' }))).toEqual(['SubnetNotFound']);
    expect(await verdict(req({ subnet: 'ovn-default', v4ip: '10.16.0.300' }))).toMatch(/10.16.0.300/);
    expect(await causes(req({ subnet: 'ovn-default', v4ip: '10.16.0.300' }))).toEqual(['InvalidAddress']);
    expect(await verdict(req({ subnet: 'ovn-default', v4ip: '10.17.0.5' }))).toBe(
      '10.17.0.5 is outside 10.16.0.0/16 of subnet ovn-default',
    );
    expect(await causes(req({ subnet: 'ovn-default', v4ip: '10.16.0.1' }))).toEqual(['AddressConflict']);
    expect(await causes(req({ subnet: 'ovn-default', v6ip: 'fd00::5' }))).toEqual(['AddressOutOfRange']);
  });

  it('refuses what SPEC adds: a malformed selector item, an unknown type', async () => {
    expect(
      await verdict(
        req({ subnet: 'ovn-default', namespace: 'default', selector: ['app: aap1', 'app aap2'] }),
      ),
    ).toMatch(/"app aap2" has no colon/);
    expect(await causes(req({ subnet: 'ovn-default', type: 'foo' }))).toEqual(['InvalidType']);
  });

  it('refuses an address change after assignment, allows other updates', async () => {
    const old = {
      metadata: { name: 'v', labels: { 'ovn.kubernetes.io/subnet': 'ovn-default' } },
      spec: { subnet: 'ovn-default', v4ip: '10.16.0.121' },
      status: { v4ip: '10.16.0.121', mac: '00:00:00:F0:DB:26', ready: true },
    };
    const update = (spec: unknown, meta: object = {}) =>
      req(spec, {
        operation: 'UPDATE',
        oldObject: old,
        object: { metadata: { ...old.metadata, ...meta }, spec },
      });
    expect(await verdict(update({ subnet: 'ovn-default', v4ip: '10.16.0.122' }))).toMatch(
      /spec.v4ip cannot change once assigned/,
    );
    expect(await causes(update({ subnet: 'dual', v4ip: '10.16.0.121' }))).toContain('ImmutableField');
    expect(
      await verdict(update({ subnet: 'ovn-default', v4ip: '10.16.0.121', macAddress: '00:00:00:f0:db:26' })),
    ).toBe('allowed');
    // metadata-only writes pass even when the Subnet is gone
    const orphan = { ...old, spec: { subnet: 'gone' } };
    expect(
      await verdict(
        req(orphan.spec, {
          operation: 'UPDATE',
          oldObject: orphan,
          object: { ...orphan, metadata: { ...orphan.metadata, finalizers: [] } },
        }),
      ),
    ).toBe('allowed');
  });

  it('refuses any spec change once deletion has started, still lets metadata go', async () => {
    const old = {
      metadata: {
        name: 'v',
        deletionTimestamp: '2026-01-01T00:00:00Z',
        finalizers: ['kubeovn.io/kube-ovn-controller'],
      },
      spec: { subnet: 'ovn-default' },
    };
    const update = (spec: unknown, meta: object = {}) =>
      req(spec, {
        operation: 'UPDATE',
        oldObject: old,
        object: { metadata: { ...old.metadata, ...meta }, spec },
      });
    // a change the Vip would accept were it not being deleted
    expect(await verdict(update({ subnet: 'ovn-default', v4ip: '10.16.0.9' }))).toBe(
      'Vip v is being deleted; its spec cannot change (create a new Vip instead)',
    );
    expect(await causes(update({ subnet: 'ovn-default', type: 'switch_lb_vip' }))).toEqual([
      'DeletionInProgress',
    ]);
    // the finalizer's removal (spec unchanged) goes through
    expect(await verdict(update({ subnet: 'ovn-default' }, { finalizers: [] }))).toBe('allowed');
  });

  it('refuses a new Vip in a Subnet whose deletion has started', async () => {
    expect(await verdict(req({ subnet: 'leaving' }))).toBe(
      'subnet leaving is being deleted; use another subnet',
    );
    expect(await causes(req({ subnet: 'leaving' }))).toEqual(['SubnetNotReady']);
  });

  it('leaves other kinds, deletes and subresources alone', async () => {
    expect(await verdict(req({}, { kind: { group: '', version: 'v1', kind: 'Pod' } }))).toBe('allowed');
    expect(await verdict(req({}, { operation: 'DELETE' }))).toBe('allowed');
    expect(await verdict(req({}, { operation: 'UPDATE', subResource: 'status' }))).toBe('allowed');
  });

  it("beside kube-ovn-controller: refuses addresses of kube-ovn's part, and kube-ovn's own writes of addresses and MACs", async () => {
    const beside: Record<string, SubnetResource> = {
      'ovn-default': {
        metadata: {
          name: 'ovn-default',
          annotations: { 'vip.kubeovn.io/vip-range': '10.16.200.1..10.16.200.254' },
        },
        spec: { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', excludeIps: ['10.16.200.0..10.16.200.255'] },
      },
    };
    const review = (r: AdmissionRequest) => reviewVip(r, async (n) => beside[n], { besideKubeOvn: true });
    expect((await review(req({ subnet: 'ovn-default' }))).allowed).toBe(true);
    expect((await review(req({ subnet: 'ovn-default', v4ip: '10.16.200.7' }))).allowed).toBe(true);
    const theirs = await review(req({ subnet: 'ovn-default', v4ip: '10.16.0.121' }));
    expect(theirs.allowed).toBe(false);
    expect(theirs.status?.details?.causes?.map((c) => c.reason)).toEqual(['AddressOwnedByKubeOvn']);
    // kube-ovn-controller's createOrUpdateVipCR on a new dynamic Vip: its address and MAC into the spec.
    const kubeOvnWrite = await review(
      req(
        { subnet: 'ovn-default', v4ip: '10.16.0.2', macAddress: '00:00:00:12:34:56' },
        { operation: 'UPDATE', oldObject: { metadata: { name: 'v' }, spec: { subnet: 'ovn-default' } } },
      ),
    );
    expect(kubeOvnWrite.allowed).toBe(false);
    expect(kubeOvnWrite.status?.message).toMatch(
      /cannot be set or changed after creation beside kube-ovn-controller/,
    );
    // Its metadata-only writes (labels, finalizer) pass; without the mode the same UPDATE is allowed.
    const same = { metadata: { name: 'v' }, spec: { subnet: 'ovn-default' } };
    expect(
      (await review(req({ subnet: 'ovn-default' }, { operation: 'UPDATE', oldObject: same }))).allowed,
    ).toBe(true);
    expect(
      await verdict(
        req({ subnet: 'ovn-default', v4ip: '10.16.0.2' }, { operation: 'UPDATE', oldObject: same }),
      ),
    ).toBe('allowed');
  });
});
