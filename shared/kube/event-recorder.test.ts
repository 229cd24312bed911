// The recorder's own rules, on a clock it is given and a sink that keeps what it is sent: repeats
// become a series on one Event, a quiet spell starts a new Event, each object has a bucket of
// Events, and a sink that fails never reaches the caller.
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../reconcile/deps.ts';
import {
  createEventRecorder,
  type EventSeries,
  type EventSink,
  type KubeEvent,
  microTime,
} from './event-recorder.ts';

function memorySink(fail = false) {
  const created: KubeEvent[] = [];
  const patches: { name: string; series: EventSeries }[] = [];
  const sink: EventSink = {
    async create(_ns, e) {
      if (fail) throw new Error('API server down');
      created.push(e);
    },
    async patchSeries(_ns, name, series) {
      if (fail) throw new Error('API server down');
      patches.push({ name, series });
    },
  };
  return { sink, created, patches };
}

const conflict = (note = 'AddressConflict: 10.16.0.121 is taken (held by vip/other)'): RecordedEvent => ({
  regarding: { apiVersion: 'kubeovn.io/v1', kind: 'Vip', name: 'static-vip02', uid: 'u-1' },
  type: 'Warning',
  reason: 'AcquireAddressFailed',
  action: 'Allocate',
  note,
});

describe('event recorder', () => {
  it('creates one Event, then counts repeats into its series (not one object per retry)', async () => {
    let t = Date.parse('2026-12-04T10:00:00.000Z');
    const { sink, created, patches } = memorySink();
    const r = createEventRecorder({ sink, now: () => new Date(t), instance: 'fn-0', seriesFlushMs: 10_000 });
    r.record(conflict());
    await r.flush();
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'default' },
      eventTime: '2026-12-04T10:00:00.000000Z',
      reportingController: 'kubeovn.io/vip-functions',
      reportingInstance: 'fn-0',
      type: 'Warning',
      reason: 'AcquireAddressFailed',
      regarding: { kind: 'Vip', name: 'static-vip02', uid: 'u-1' },
    });
    expect(created[0]!.series).toBeUndefined();
    for (let i = 0; i < 9; i++) {
      t += 1_000;
      r.record(conflict());
    }
    await r.flush();
    expect(created).toHaveLength(1);
    // The first repeat at once, the rest coalesced: far fewer writes than repeats.
    expect(patches.length).toBeLessThanOrEqual(3);
    expect(patches.every((p) => p.name === created[0]!.metadata.name)).toBe(true);
    expect(patches.at(-1)!.series).toEqual({ count: 10, lastObservedTime: microTime(new Date(t)) });
  });

  it('starts a new Event after a quiet spell, and for a different note', async () => {
    let t = 0;
    const { sink, created } = memorySink();
    const r = createEventRecorder({ sink, now: () => new Date(t), isolationMs: 60_000 });
    r.record(conflict());
    t += 30_000;
    r.record(conflict());
    t += 61_000;
    r.record(conflict());
    r.record(conflict('AddressConflict: 10.16.0.121 is taken (held by vip/third)'));
    await r.flush();
    expect(created).toHaveLength(3);
    expect(created[2]!.note).toMatch(/vip\/third/);
  });

  it('rate-limits Events per object and refills over time; other objects are not held back', async () => {
    let t = 0;
    const { sink, created } = memorySink();
    const r = createEventRecorder({ sink, now: () => new Date(t), burst: 3, refillMs: 60_000 });
    for (let i = 0; i < 10; i++) r.record({ ...conflict(), note: `try ${i}` });
    r.record({ ...conflict(), regarding: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' } });
    await r.flush();
    expect(created.map((e) => e.regarding.name)).toEqual([
      'static-vip02',
      'static-vip02',
      'static-vip02',
      'p',
    ]);
    expect(created[3]!.metadata.namespace).toBe('ns');
    expect(r.throttled).toBe(7);
    t += 60_000;
    r.record({ ...conflict(), note: 'after the refill' });
    await r.flush();
    expect(created).toHaveLength(5);
  });

  it('never throws into the caller when the API server refuses or is away', async () => {
    const { sink } = memorySink(true);
    const r = createEventRecorder({ sink });
    expect(() => {
      r.record(conflict());
      r.record(conflict());
    }).not.toThrow();
    await expect(r.flush()).resolves.toBeUndefined();
  });

  it('keeps at most 1 kB of a note', async () => {
    const { sink, created } = memorySink();
    const r = createEventRecorder({ sink });
    r.record(conflict('x'.repeat(5000)));
    await r.flush();
    expect(created[0]!.note).toHaveLength(1024);
  });

  it('records only the types it is told to (KUBE_EVENTS=warnings)', async () => {
    const { sink, created } = memorySink();
    const r = createEventRecorder({ sink, types: ['Warning'] });
    r.record({ ...conflict(), type: 'Normal', reason: 'AddressAllocated', note: 'allocated' });
    r.record(conflict());
    await r.flush();
    expect(created.map((e) => e.reason)).toEqual(['AcquireAddressFailed']);
  });
});
