import { describe, expect, it } from 'vitest';
import { Reason } from './errors.ts';
import type { Vip } from './types.ts';
import { parseVipSpec, type VipSpec } from './vip-spec.ts';
import {
  assignedFromReservation,
  assignedFromVip,
  computeVipStatus,
  FINALIZER,
  hasFinalizer,
  isSettled,
  statusEquals,
  statusShowsReservation,
  vipLabels,
  withFinalizer,
  withoutFinalizer,
} from './vip-status.ts';

const spec = (raw: object): VipSpec => {
  const r = parseVipSpec(raw);
  if (!r.ok) throw new Error('bad spec');
  return r.spec;
};
const vip = (extra: Partial<Vip> = {}): Vip => ({
  metadata: { name: 'vip-dynamic-01', generation: 3 },
  spec: { subnet: 'ovn-default' },
  ...extra,
});
const assigned = { subnet: 'ovn-default', type: '', v4ip: '10.16.0.12', mac: '00:00:00:F0:DB:25' };

describe('computeVipStatus', () => {
  it('is ready with the seed values when reserved', () => {
    const s = computeVipStatus({ vip: vip(), spec: spec({ subnet: 'ovn-default' }), assigned, now: 't1' });
    expect(s).toMatchObject({
      ready: true,
      v4ip: '10.16.0.12',
      v6ip: '',
      mac: '00:00:00:F0:DB:25',
      pv4ip: '',
      holder: '',
      type: '',
      selector: [],
    });
    expect(s.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Reserved',
        message: expect.stringContaining('10.16.0.12'),
        lastTransitionTime: 't1',
        observedGeneration: 3,
      },
    ]);
  });
  it('keeps the assigned address and names the reason on failure', () => {
    const s = computeVipStatus({
      vip: vip(),
      spec: spec({ subnet: 'other' }),
      assigned,
      failure: { reason: Reason.ImmutableField, message: 'spec.subnet cannot change' },
      now: 't1',
    });
    expect(s.ready).toBe(false);
    expect(s.v4ip).toBe('10.16.0.12');
    expect(s.conditions[0]).toMatchObject({
      status: 'False',
      reason: 'ImmutableField',
      message: 'spec.subnet cannot change',
    });
    const none = computeVipStatus({ vip: vip(), now: 't' });
    expect(none).toMatchObject({
      ready: false,
      v4ip: '',
      conditions: [expect.objectContaining({ reason: 'Pending' })],
    });
  });
  it('keeps lastTransitionTime while the status does not flip, and moves it when it does', () => {
    const first = computeVipStatus({
      vip: vip(),
      spec: spec({ subnet: 'ovn-default' }),
      assigned,
      now: 't1',
    });
    const again = computeVipStatus({
      vip: vip({ status: first }),
      spec: spec({ subnet: 'ovn-default' }),
      assigned,
      holder: 'p.default',
      now: 't2',
    });
    expect(again.conditions[0]?.lastTransitionTime).toBe('t1');
    expect(statusEquals(first, again)).toBe(false);
    const same = computeVipStatus({
      vip: vip({ status: again }),
      spec: spec({ subnet: 'ovn-default' }),
      assigned,
      holder: 'p.default',
      now: 't3',
    });
    expect(statusEquals(again, same)).toBe(true);
    const failed = computeVipStatus({
      vip: vip({ status: same }),
      assigned,
      failure: { reason: 'SubnetNotReady', message: 'm' },
      now: 't4',
    });
    expect(failed.conditions[0]?.lastTransitionTime).toBe('t4');
  });
  it('shows parents, holder and the selector, and keeps other conditions', () => {
    const s = computeVipStatus({
      vip: vip({
        status: {
          conditions: [{ type: 'Other', status: 'True', reason: 'r', message: '', lastTransitionTime: 'x' }],
        },
      }),
      spec: spec({ subnet: 'ovn-default', namespace: 'default', selector: ['app:aap1'] }),
      assigned,
      parents: { pv4ip: '10.16.0.7', pv6ip: '', pmac: '00:00:00:E2:AB:0C', parents: 'busybox' },
      holder: 'busybox.default',
      now: 't',
    });
    expect(s).toMatchObject({
      pv4ip: '10.16.0.7',
      pmac: '00:00:00:E2:AB:0C',
      parents: 'busybox',
      holder: 'busybox.default',
      selector: ['app: aap1'],
    });
    expect(s.conditions.map((c) => c.type)).toEqual(['Other', 'Ready']);
  });
});

describe('statusEquals', () => {
  it('treats absent as empty', () => {
    expect(statusEquals(undefined, { ready: false, v4ip: '', selector: [] })).toBe(true);
    expect(statusEquals(undefined, { ready: true })).toBe(false);
  });
});

describe('labels, assignment and finalizer', () => {
  it('builds the two labels', () => {
    expect(vipLabels('ovn-default', undefined)).toEqual({
      'ovn.kubernetes.io/subnet': 'ovn-default',
      'ovn.kubernetes.io/ip_reserved': '',
    });
    expect(vipLabels('ovn-default', 'static-ip.default')['ovn.kubernetes.io/ip_reserved']).toBe(
      'static-ip.default',
    );
  });
  it('rebuilds the assignment from label and status', () => {
    expect(assignedFromVip(vip())).toBeUndefined();
    const v = vip({
      metadata: { name: 'v', labels: { 'ovn.kubernetes.io/subnet': 'ovn-default' } },
      status: { v4ip: '10.16.0.12', v6ip: 'FD00::C', mac: '00:00:00:f0:db:25', type: 'switch_lb_vip' },
    });
    expect(assignedFromVip(v)).toEqual({
      subnet: 'ovn-default',
      type: 'switch_lb_vip',
      v4ip: '10.16.0.12',
      v6ip: 'fd00::c',
      mac: '00:00:00:F0:DB:25',
    });
  });
  it('adds and removes the finalizer idempotently', () => {
    expect(FINALIZER).toBe('kubeovn.io/kube-ovn-controller');
    expect(withFinalizer(withFinalizer(['x']))).toEqual(['x', FINALIZER]);
    expect(withoutFinalizer([FINALIZER, 'x', FINALIZER])).toEqual(['x']);
    expect(hasFinalizer({ metadata: { name: 'a', finalizers: [FINALIZER] } })).toBe(true);
    expect(hasFinalizer({ metadata: { name: 'a' } })).toBe(false);
  });
});

describe('isSettled', () => {
  const settled = {
    metadata: {
      name: 'v',
      generation: 2,
      finalizers: ['kubeovn.io/kube-ovn-controller'],
      labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', 'ovn.kubernetes.io/ip_reserved': '' },
    },
    spec: { subnet: 'ovn-default' },
    status: {
      ready: true,
      v4ip: '10.16.0.2',
      conditions: [
        {
          type: 'Ready',
          status: 'True' as const,
          reason: 'Reserved',
          message: '',
          lastTransitionTime: 't',
          observedGeneration: 2,
        },
      ],
    },
  };
  it('is true only when finalizer, labels and a Ready of this generation are all there', () => {
    expect(isSettled(settled)).toBe(true);
    expect(isSettled({ ...settled, metadata: { ...settled.metadata, generation: 3 } })).toBe(false);
    expect(isSettled({ ...settled, metadata: { ...settled.metadata, finalizers: [] } })).toBe(false);
    expect(isSettled({ ...settled, metadata: { ...settled.metadata, labels: {} } })).toBe(false);
    expect(isSettled({ ...settled, metadata: { ...settled.metadata, deletionTimestamp: 'now' } })).toBe(
      false,
    );
    expect(isSettled({ ...settled, status: { ...settled.status, ready: false } })).toBe(false);
    // AAP Vips depend on pods too, so they always take the full path
    expect(isSettled({ ...settled, spec: { subnet: 'ovn-default', namespace: 'default' } })).toBe(false);
  });
});

describe('the reservation, not the status, is the assignment', () => {
  const record = { v4: '10.16.0.12', mac: '00:00:00:F0:DB:25' };
  it('assignedFromReservation takes addresses and MAC from the record', () => {
    expect(assignedFromReservation('ovn-default', { ...record, mac: '00:00:00:f0:db:25' }, '')).toEqual(
      assigned,
    );
  });

  it('statusShowsReservation: equal only when addresses, MAC and type match and no parents show', () => {
    const shown = { v4ip: '10.16.0.12', v6ip: '', mac: '00:00:00:F0:DB:25', type: '' };
    expect(statusShowsReservation(vip({ status: shown }), record)).toBe(true);
    expect(statusShowsReservation(vip({ status: { ...shown, v4ip: '10.16.0.200' } }), record)).toBe(false);
    expect(statusShowsReservation(vip({ status: { ...shown, mac: '00:00:00:00:00:09' } }), record)).toBe(
      false,
    );
    expect(statusShowsReservation(vip({ status: { ...shown, v6ip: 'fd00::5' } }), record)).toBe(false);
    expect(statusShowsReservation(vip({ status: { ...shown, type: 'switch_lb_vip' } }), record)).toBe(false);
    expect(statusShowsReservation(vip({ status: { ...shown, pv4ip: '10.16.0.9' } }), record)).toBe(false);
    expect(statusShowsReservation(vip({ status: { ...shown, parents: 'lb-a' } }), record)).toBe(false);
    expect(statusShowsReservation(vip({ status: shown }), undefined)).toBe(false);
  });
});
