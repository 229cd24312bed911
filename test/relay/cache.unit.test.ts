import { describe, expect, it } from 'vitest';
import {
  applyList,
  applyWatchEvent,
  changedBeyondStatus,
  type KubeObject,
  type ObjectCache,
  withTypeMeta,
} from '../../infra/relay/cache.ts';
import { DEFAULT_RESOURCES } from '../../infra/relay/resources.ts';

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

describe('status-only updates of a resource whose status is a claim (Vips)', () => {
  it('are emitted when they change an address already shown: a hand edit reaches the handler', () => {
    const cache = new Map();
    const base = {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'v', resourceVersion: '1' },
      spec: { subnet: 's' },
    };
    const opts = { claimedStatus: ['v4ip', 'v6ip', 'mac'] };
    expect(applyWatchEvent(cache, 'Vip', 'ADDED', base, opts)).toHaveLength(1);
    // The handler's first write (empty to set) and changes of other fields stay filtered.
    const first = { ...base, metadata: { name: 'v', resourceVersion: '2' }, status: { v4ip: '10.16.0.2' } };
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', first, opts)).toEqual([]);
    const holder = {
      ...first,
      metadata: { name: 'v', resourceVersion: '3' },
      status: { v4ip: '10.16.0.2', holder: 'p' },
    };
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', holder, opts)).toEqual([]);
    const edited = {
      ...base,
      metadata: { name: 'v', resourceVersion: '4' },
      status: { v4ip: '10.16.0.200' },
    };
    const [ev] = applyWatchEvent(cache, 'Vip', 'MODIFIED', edited, opts);
    expect(ev?.action).toBe('update');
    expect((ev!.object as { status?: { v4ip?: string } }).status?.v4ip).toBe('10.16.0.200');
    // a repeat of the same resourceVersion is still not an update
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', edited, opts)).toEqual([]);
    // blanking a shown address is an edit too
    const blanked = { ...base, metadata: { name: 'v', resourceVersion: '5' }, status: { v4ip: '' } };
    expect(applyWatchEvent(cache, 'Vip', 'MODIFIED', blanked, opts)).toHaveLength(1);
    // without the option (other kinds) nothing status-only is emitted
    const other = new Map();
    applyWatchEvent(other, 'Vip', 'ADDED', first);
    expect(applyWatchEvent(other, 'Vip', 'MODIFIED', edited)).toEqual([]);
  });

  it('the relay watches Vips with their addresses as the claim', () => {
    expect(DEFAULT_RESOURCES.find((r) => r.kind === 'Vip')?.claimedStatus).toEqual(['v4ip', 'v6ip', 'mac']);
  });
});
