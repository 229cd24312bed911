import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';

describe('merge patch (RFC 7386)', () => {
  it('merges objects, replaces arrays, deletes on null', () => {
    const out = mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] });
    expect(out).toEqual({ a: 1, b: { d: 3, e: 4 }, l: [3] });
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('adds, removes, replaces, moves, copies and appends', () => {
    const out = jsonPatch({ a: [1, 2], b: { c: 1 } }, [
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/b/c', value: 2 },
      { op: 'copy', from: '/b', path: '/d' },
      { op: 'move', from: '/d/c', path: '/e' },
      { op: 'add', path: '/m~1x', value: true },
    ]);
    expect(out).toEqual({ a: [2, 3], b: { c: 2 }, d: {}, e: 2, 'm/x': true });
  });
  it('fails a test op as test-failed and a bad path as invalid', () => {
    const t = () =>
      jsonPatch({ metadata: { resourceVersion: '5' } }, [
        { op: 'test', path: '/metadata/resourceVersion', value: '4' },
      ]);
    expect(t).toThrowError(PatchError);
    try {
      t();
    } catch (e) {
      expect((e as PatchError).kind).toBe('test-failed');
    }
    expect(() => jsonPatch({}, [{ op: 'remove', path: '/x/y' }])).toThrowError(/path not found/);
  });
});

describe('strategic merge patch', () => {
  const pod = {
    metadata: { labels: { app: 'a' }, finalizers: ['x'] },
    spec: {
      containers: [
        { name: 'one', image: 'busybox', env: [{ name: 'A', value: '1' }] },
        { name: 'two', image: 'nginx' },
      ],
      tolerations: [{ key: 'k' }],
    },
  };
  it('merges lists of containers by name and keeps unnamed ones', () => {
    const out = strategicMergePatch(pod, {
      spec: { containers: [{ name: 'one', image: 'alpine', env: [{ name: 'B', value: '2' }] }] },
    }) as typeof pod;
    expect(out.spec.containers).toEqual([
      {
        name: 'one',
        image: 'alpine',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      { name: 'two', image: 'nginx' },
    ]);
  });
  it('honours $patch delete, $setElementOrder, $retainKeys, $deleteFromPrimitiveList and null', () => {
    const out = strategicMergePatch(pod, {
      metadata: { labels: { app: null, b: 'c' }, '$deleteFromPrimitiveList/finalizers': ['x'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'three' }, { name: 'one' }],
        containers: [
          { name: 'two', $patch: 'delete' },
          { name: 'three', image: 'x' },
        ],
        tolerations: [{ key: 'z' }],
        $retainKeys: ['containers', 'tolerations'],
      },
    }) as typeof pod;
    expect(out.metadata).toEqual({ labels: { b: 'c' }, finalizers: [] });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['three', 'one']);
    expect(out.spec.tolerations).toEqual([{ key: 'z' }]);
  });
  it('merges finalizers as a set and replaces a map on $patch: replace', () => {
    const out = strategicMergePatch(pod, {
      metadata: { finalizers: ['y', 'x'], labels: { $patch: 'replace', only: '1' } },
    }) as typeof pod;
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
    expect(out.metadata.labels).toEqual({ only: '1' });
  });
});
