import { describe, expect, it } from 'vitest';
import {
  apiOwnerName,
  healthCheckOwner,
  ipOwner,
  judgePort,
  judgeReservation,
  kubernetesOwner,
  liveOwners,
  manualOwner,
  namesKubernetesOwner,
  ownerSide,
  parseOwner,
  placementsOf,
  podOwner,
  storedOwnerOf,
  v6PortName,
  vipOfPort,
  vipOwner,
  vipPortNames,
} from './ownership.ts';
import type { Pod, SubnetResource, Vip } from './types.ts';

describe('owner namespaces', () => {
  it('manual owners live under manual/, shown without it', () => {
    expect(manualOwner('lb/web')).toBe('manual/lb/web');
    expect(ownerSide('manual/lb/web')).toBe('manual');
    expect(apiOwnerName('manual/lb/web')).toBe('lb/web');
    // a manual name that itself starts with manual/ round-trips
    expect(apiOwnerName(manualOwner('manual/x'))).toBe('manual/x');
  });

  it('every other stored owner is the Kubernetes side, known kind or not', () => {
    expect(kubernetesOwner('vip', 'a')).toBe('vip/a');
    expect(kubernetesOwner('pod', 'p.default')).toBe('pod/p.default');
    for (const o of ['vip/a', 'pod/p.default', 'ippool/x', 'lb/web', 'manualx'])
      expect(ownerSide(o)).toBe('kubernetes');
    expect(apiOwnerName('vip/a')).toBe('vip/a');
  });

  it('a manual write can never produce a key outside the manual namespace', () => {
    for (const name of ['vip/a', 'pod/p.default', '../vip/a', '', 'future/x'])
      expect(ownerSide(manualOwner(name))).toBe('manual');
  });

  it('API names: Kubernetes-looking ones read the Kubernetes owner, the rest the manual one', () => {
    expect(namesKubernetesOwner('vip/a')).toBe(true);
    expect(namesKubernetesOwner('pod/x.y')).toBe(true);
    expect(namesKubernetesOwner('vipx/a')).toBe(false);
    expect(namesKubernetesOwner('lb/web')).toBe(false);
    expect(storedOwnerOf('vip/a')).toBe('vip/a');
    expect(storedOwnerOf('lb/web')).toBe('manual/lb/web');
  });
});

// ---- the one judgement the sweep and the audit share

const SUBNET = 'ovn-default';
const subnets: SubnetResource[] = [
  { metadata: { name: SUBNET }, spec: { cidrBlock: '10.16.0.0/16', default: true } },
  { metadata: { name: 'other' }, spec: { cidrBlock: '10.17.0.0/16', namespaces: ['far'] } },
];
const vip = (
  name: string,
  o: { subnet?: string; deleting?: boolean; aap?: boolean; ready?: boolean } = {},
): Vip => ({
  metadata: {
    name,
    labels: { 'ovn.kubernetes.io/subnet': o.subnet ?? SUBNET },
    ...(o.deleting ? { deletionTimestamp: '2026-12-04T00:00:00Z' } : {}),
  },
  spec: { subnet: o.subnet ?? SUBNET, ...(o.aap ? { namespace: 'default' } : {}) },
  status: { ready: o.ready ?? true, v4ip: '10.16.0.10', mac: '00:00:00:AA:00:10', type: '' },
});
const pod = (name: string, namespace = 'default'): Pod => ({ metadata: { name, namespace } });
const live = (vips: Vip[], pods: Pod[]) => liveOwners(vips, pods, placementsOf(subnets), true);

describe('owner keys read back', () => {
  it('parses every kind, and manual or unknown keys as such', () => {
    expect(parseOwner(vipOwner('a'))).toEqual({ kind: 'vip', name: 'a' });
    expect(parseOwner(podOwner('p.default'))).toEqual({ kind: 'pod', name: 'p.default' });
    expect(parseOwner(ipOwner('x'))).toEqual({ kind: 'ip', name: 'x' });
    expect(parseOwner(healthCheckOwner('s'))).toEqual({ kind: 'hc', name: 's' });
    expect(parseOwner(manualOwner('lb/web'))).toEqual({ kind: 'manual', name: 'lb/web' });
    expect(parseOwner('ippool/x')).toEqual({ kind: 'unknown', name: 'ippool/x' });
  });

  it("names a Vip's ports and reads the Vip back from either", () => {
    expect(vipPortNames('v')).toEqual(['v', v6PortName('v')]);
    for (const port of vipPortNames('v')) expect(vipOfPort(port)).toBe('v');
    expect(vipOfPort('p.default')).toBe('p.default');
  });
});

describe('judgeReservation', () => {
  const owners = live(
    [vip('here'), vip('there', { subnet: 'other' }), vip('leaving', { subnet: 'other', deleting: true })],
    [pod('p'), pod('q', 'far')],
  );

  it('a Vip or pod that does not exist: gone', () => {
    expect(judgeReservation(SUBNET, vipOwner('nope'), owners)).toMatchObject({
      verdict: 'gone',
      owner: { kind: 'vip', name: 'nope' },
      why: 'Vip nope does not exist',
    });
    expect(judgeReservation(SUBNET, podOwner('gone.default'), owners)).toMatchObject({
      verdict: 'gone',
      owner: { kind: 'pod', name: 'gone.default' },
    });
  });

  it('an owner that exists in another subnet: misplaced, not gone', () => {
    expect(judgeReservation(SUBNET, vipOwner('there'), owners).verdict).toBe('misplaced');
    expect(judgeReservation(SUBNET, podOwner('q.far'), owners).verdict).toBe('misplaced');
  });

  it('owned in its subnet; a Vip being deleted keeps what it holds anywhere until its finalizer runs', () => {
    expect(judgeReservation(SUBNET, vipOwner('here'), owners).verdict).toBe('owned');
    expect(judgeReservation(SUBNET, podOwner('p.default'), owners).verdict).toBe('owned');
    expect(judgeReservation('other', podOwner('q.far'), owners).verdict).toBe('owned');
    expect(judgeReservation(SUBNET, vipOwner('leaving'), owners).verdict).toBe('owned');
  });

  it('manual, kube-ovn IP, health-check and unknown owners are not judged', () => {
    for (const o of [manualOwner('x'), ipOwner('x'), healthCheckOwner(SUBNET), 'ippool/x'])
      expect(judgeReservation(SUBNET, o, owners)).toEqual({ verdict: 'not-judged' });
  });
});

describe('judgePort', () => {
  const owners = live(
    [vip('aap', { aap: true }), vip('plain'), vip('pending', { aap: true, ready: false })],
    [pod('p')],
  );

  it("a virtual port whose Vip is gone, either family's: gone, owned by that Vip", () => {
    for (const name of vipPortNames('nope'))
      expect(judgePort({ name, type: 'virtual' }, owners)).toMatchObject({
        verdict: 'gone',
        owner: { kind: 'vip', name: 'nope' },
      });
    expect(judgePort({ name: v6PortName('aap'), type: 'virtual' }, owners).verdict).toBe('owned');
  });

  it("an existing Vip's port is judged beyond existence only when the wanted ports are known", () => {
    const port = { name: 'plain', type: 'virtual' };
    expect(judgePort(port, owners).verdict).toBe('owned');
    expect(judgePort(port, owners, new Set())).toMatchObject({
      verdict: 'unwanted',
      why: 'Vip plain is not an allowed-address-pairs Vip',
    });
    expect(judgePort({ name: 'aap', type: 'virtual' }, owners, new Set(['aap'])).verdict).toBe('owned');
    expect(judgePort({ name: 'aap', type: 'virtual' }, owners, new Set()).verdict).toBe('unwanted');
    // not Ready yet: its reconciler decides
    expect(judgePort({ name: 'pending', type: 'virtual' }, owners, new Set()).verdict).toBe('owned');
  });

  it("a pod's port: owned while a pod has it, gone after", () => {
    expect(judgePort({ name: 'p.default', type: '', pod: 'default/p' }, owners).verdict).toBe('owned');
    expect(judgePort({ name: 'x.default', type: '', pod: 'default/x' }, owners)).toMatchObject({
      verdict: 'gone',
      owner: { kind: 'pod', name: 'x.default' },
    });
  });

  it('other ports (routers, ports without a pod) are not judged', () => {
    expect(judgePort({ name: 'ovn-default-ovn-cluster', type: 'router' }, owners).verdict).toBe('not-judged');
    expect(judgePort({ name: 'nope', type: '' }, owners).verdict).toBe('not-judged');
  });
});
