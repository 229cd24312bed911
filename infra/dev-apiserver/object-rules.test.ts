import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { replacement, sameIgnoringVersion, stampCreated } from './object-rules.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';

const vips: ResourceInfo = {
  group: 'kubeovn.io',
  version: 'v1',
  resource: 'vips',
  singular: 'vip',
  kind: 'Vip',
  listKind: 'VipList',
  namespaced: false,
  shortNames: [],
  categories: [],
  hasStatus: true,
  requireResourceVersion: true,
};

const stored = (): KubeObject => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: {
    name: 'a',
    uid: 'u1',
    creationTimestamp: '2026-12-05T00:00:00Z',
    generation: 3,
    resourceVersion: '7',
  },
  spec: { subnet: 's' },
  status: { v4ip: '10.0.0.2' },
});

describe('stampCreated', () => {
  it('sets type, uid, time and generation 1; drops a status and a deletion the caller sent', () => {
    const obj: KubeObject = {
      metadata: { name: 'a', generation: 9, deletionTimestamp: 'x', deletionGracePeriodSeconds: 5 },
      status: { v4ip: '1.2.3.4' },
    };
    stampCreated(vips, obj, new Date('2026-12-05T01:02:03.456Z'));
    expect(obj).toMatchObject({ apiVersion: 'kubeovn.io/v1', kind: 'Vip' });
    expect(obj.metadata).toMatchObject({ generation: 1, creationTimestamp: '2026-12-05T01:02:03Z' });
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(obj.status).toBeUndefined();
    expect(obj.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe('replacement', () => {
  it('a spec change bumps the generation and keeps identity and status (status is its subresource)', () => {
    const current = stored();
    const next = replacement(vips, current, {
      metadata: { name: 'a', uid: 'other', generation: 1, resourceVersion: '7' },
      spec: { subnet: 't' },
      status: { v4ip: '9.9.9.9' },
    });
    expect(next.metadata).toMatchObject({
      uid: 'u1',
      generation: 4,
      creationTimestamp: current.metadata.creationTimestamp,
    });
    expect(next.status).toEqual({ v4ip: '10.0.0.2' });
    expect(next.metadata.resourceVersion).toBe('7'); // the store gives the new one
    expect(current.spec).toEqual({ subnet: 's' }); // current is not changed
  });

  it('a label change alone keeps the generation; through /status only the status changes', () => {
    const labelled = replacement(vips, stored(), {
      ...stored(),
      metadata: { ...stored().metadata, labels: { a: 'b' } },
    });
    expect(labelled.metadata.generation).toBe(3);
    const status = replacement(
      vips,
      stored(),
      { metadata: { name: 'a' }, spec: { subnet: 'x' }, status: { v4ip: '10.0.0.3' } },
      'status',
    );
    expect(status.spec).toEqual({ subnet: 's' });
    expect(status.status).toEqual({ v4ip: '10.0.0.3' });
    expect(status.metadata.generation).toBe(3);
  });

  it('an object being deleted keeps its deletion and takes no new finalizer (422)', () => {
    const deleting = stored();
    deleting.metadata.deletionTimestamp = '2026-12-05T00:01:00Z';
    deleting.metadata.finalizers = ['a'];
    const kept = replacement(vips, deleting, {
      ...stored(),
      metadata: { ...stored().metadata, finalizers: ['a'] },
    });
    expect(kept.metadata.deletionTimestamp).toBe('2026-12-05T00:01:00Z');
    let err: unknown;
    try {
      replacement(vips, deleting, {
        ...stored(),
        metadata: { ...stored().metadata, finalizers: ['a', 'b'] },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(422);
    expect((err as ApiError).reason).toBe('Invalid');
  });

  it('a write of the same object is no change', () => {
    expect(sameIgnoringVersion(replacement(vips, stored(), stored()), stored())).toBe(true);
    expect(
      sameIgnoringVersion(replacement(vips, stored(), { ...stored(), spec: { subnet: 'x' } }), stored()),
    ).toBe(false);
  });
});
