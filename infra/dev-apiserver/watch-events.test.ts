import { describe, expect, it } from 'vitest';
import type { KubeObject } from './selectors.ts';
import { filterEvent } from './watch-events.ts';

const pod = (labels: Record<string, string>, namespace = 'a'): KubeObject => ({
  metadata: { name: 'p', namespace, labels },
});
const blue = { matcher: (o: KubeObject) => o.metadata.labels?.color === 'blue' };

describe('filterEvent', () => {
  it('a change into the selection is ADDED, out of it DELETED, inside it MODIFIED, outside nothing', () => {
    const into = filterEvent(
      { rv: 2, type: 'MODIFIED', object: pod({ color: 'blue' }), prev: pod({}) },
      blue,
    );
    expect(into?.type).toBe('ADDED');
    const out = filterEvent({ rv: 3, type: 'MODIFIED', object: pod({}), prev: pod({ color: 'blue' }) }, blue);
    expect(out).toEqual({ type: 'DELETED', object: pod({}) });
    const inside = filterEvent(
      { rv: 4, type: 'MODIFIED', object: pod({ color: 'blue', x: '1' }), prev: pod({ color: 'blue' }) },
      blue,
    );
    expect(inside?.type).toBe('MODIFIED');
    expect(
      filterEvent({ rv: 5, type: 'MODIFIED', object: pod({ x: '1' }), prev: pod({}) }, blue),
    ).toBeUndefined();
  });

  it('a delete reaches only watches that selected the object; a namespace narrows the watch', () => {
    const gone = {
      rv: 6,
      type: 'DELETED' as const,
      object: pod({ color: 'blue' }),
      prev: pod({ color: 'blue' }),
    };
    expect(filterEvent(gone, blue)?.type).toBe('DELETED');
    expect(filterEvent(gone, { matcher: () => false })).toBeUndefined();
    const added = { rv: 7, type: 'ADDED' as const, object: pod({ color: 'blue' }, 'b') };
    expect(filterEvent(added, { ...blue, namespace: 'a' })).toBeUndefined();
    expect(filterEvent(added, { ...blue, namespace: 'b' })?.type).toBe('ADDED');
  });
});
