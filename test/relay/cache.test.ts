import { describe, expect, it } from 'vitest';
import {
  applyList,
  applyWatchEvent,
  changedBeyondStatus,
  type KubeObject,
  type ObjectCache,
  withTypeMeta,
} from '../../infra/relay/cache.ts';

const vip = (name: string, rv: string): KubeObject => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name, resourceVersion: rv },
});

describe('cache: list', () => {
  it('first list emits an add per object', () => {
    const cache: ObjectCache = new Map();
    const events = applyList(cache, 'Vip', [vip('a', '1'), vip('b', '2')]);
    expect(events.map((e) => [e.action, e.key])).toEqual([
      ['add', 'Vip:a'],
      ['add', 'Vip:b'],
    ]);
    expect(cache.size).toBe(2);
  });

  it('relist re-emits unchanged objects, updates changed ones, deletes vanished ones with last state', () => {
    const cache: ObjectCache = new Map();
    applyList(cache, 'Vip', [vip('a', '1'), vip('b', '2'), vip('gone', '3')]);
    const events = applyList(cache, 'Vip', [vip('a', '1'), vip('b', '5'), vip('new', '6')]);
    expect(events.map((e) => [e.action, e.key, e.object.metadata.resourceVersion])).toEqual([
      ['update', 'Vip:a', '1'],
      ['update', 'Vip:b', '5'],
      ['add', 'Vip:new', '6'],
      ['delete', 'Vip:gone', '3'],
    ]);
    expect([...cache.keys()].sort()).toEqual(['Vip:a', 'Vip:b', 'Vip:new']);
  });
});

describe('cache: watch', () => {
  it('add, modify, repeat of a known resourceVersion, delete', () => {
    const cache: ObjectCache = new Map();
    expect(applyWatchEvent(cache, 'Vip', 'ADDED', vip('a', '1'))).toMatchObject([
      { action: 'add', key: 'Vip:a' },
    ]);
    const changed = { ...vip('a', '2'), spec: { subnet: 'other' } };
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', changed)).toMatchObject([{ action: 'update' }]);
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', changed)).toEqual([]);
    expect(applyWatchEvent(cache, 'Vip', 'ADDED', changed)).toEqual([]);
    const del = applyWatchEvent(cache, 'Vip', 'DELETED', vip('a', '3'));
    expect(del).toMatchObject([
      { action: 'delete', key: 'Vip:a', object: { metadata: { resourceVersion: '3' } } },
    ]);
    expect(cache.size).toBe(0);
  });

  it('a MODIFIED for an unknown object is an add; a DELETED for one is still a delete', () => {
    const cache: ObjectCache = new Map();
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', vip('x', '4'))).toMatchObject([{ action: 'add' }]);
    expect(applyWatchEvent(cache, 'Vip', 'DELETED', vip('y', '5'))).toMatchObject([
      { action: 'delete', key: 'Vip:y' },
    ]);
  });

  it('namespaced keys and type meta for list items of built-in kinds', () => {
    const cache: ObjectCache = new Map();
    const pod = withTypeMeta({ metadata: { name: 'p', namespace: 'ns', resourceVersion: '1' } }, 'v1', 'Pod');
    expect(pod).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    expect(applyWatchEvent(cache, 'Pod', 'ADDED', pod)).toMatchObject([{ key: 'Pod:ns/p' }]);
  });
});

describe('status-only updates', () => {
  it('are not emitted, while any other change is, carrying the latest status', () => {
    const cache = new Map();
    const base = {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'v', resourceVersion: '1' },
      spec: { subnet: 's' },
    };
    expect(applyWatchEvent(cache, 'Vip', 'ADDED', base)).toHaveLength(1);
    const statusOnly = { ...base, metadata: { name: 'v', resourceVersion: '2' }, status: { ready: true } };
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', statusOnly)).toEqual([]);
    const labelled = { ...statusOnly, metadata: { name: 'v', resourceVersion: '3', labels: { a: 'b' } } };
    const [ev] = applyWatchEvent(cache, 'Vip', 'MODIFIED', labelled);
    expect(ev?.action).toBe('update');
    expect((ev!.object as { status?: unknown }).status).toEqual({ ready: true });
    expect(changedBeyondStatus(labelled, { ...labelled, spec: { subnet: 't' } })).toBe(true);
  });
});
