// The AAP parent index's pure parts (shared/domain/aap.ts): what a pod records, its tokens, and
// which members a Vip's reconcile forgets.
import { describe, expect, it } from 'vitest';
import { indexToken, namingPod, staleMembers, stateTokenPrefix, tokenPrefixOf } from './aap.ts';
import type { Pod } from './types.ts';

const pod = (
  name: string,
  opts: { ns?: string; labels?: Record<string, string>; ann?: Record<string, string> } = {},
): Pod => ({
  metadata: { name, namespace: opts.ns ?? 'default', labels: opts.labels ?? {}, annotations: opts.ann ?? {} },
});

describe('the AAP parent index: what a pod records, and which members go stale', () => {
  it('a pod names the Vips of its aaps annotation, in its namespace', () => {
    const p = pod('p', { ns: 'n1', ann: { 'ovn.kubernetes.io/aaps': 'b, a,b' } });
    p.metadata.uid = 'u1';
    p.metadata.resourceVersion = '5';
    expect(namingPod(p)).toEqual({
      namespace: 'n1',
      name: 'p',
      uid: 'u1',
      resourceVersion: '5',
      vips: ['b', 'a'],
    });
    expect(namingPod(pod('q'))).toBeUndefined();
  });
  it('a token carries the uid and the state; a missing uid still gives a prefix of its own', () => {
    const t = indexToken({ uid: 'u1', resourceVersion: '7' }, 'x');
    expect(t.startsWith(tokenPrefixOf('u1'))).toBe(true);
    expect(t.startsWith(stateTokenPrefix({ uid: 'u1', resourceVersion: '7' }))).toBe(true);
    expect(t.startsWith(stateTokenPrefix({ uid: 'u1', resourceVersion: '70' }))).toBe(false);
    expect(t.startsWith(tokenPrefixOf('u12'))).toBe(false);
    expect(indexToken({}, 'x').startsWith(tokenPrefixOf(undefined))).toBe(true);
  });
  it('stale: gone, or no longer naming the Vip; a pod naming it stays whatever its labels', () => {
    const names = (aaps: string, labels: Record<string, string> = {}) =>
      pod('x', { ann: { 'ovn.kubernetes.io/aaps': aaps }, labels });
    expect(
      staleMembers('v', [
        { name: 'gone', token: 't1', pod: undefined },
        { name: 'moved', token: 't2', pod: names('w') },
        { name: 'other-labels', token: 't3', pod: names('w,v', { app: 'no' }) },
      ]),
    ).toEqual([
      { name: 'gone', token: 't1' },
      { name: 'moved', token: 't2' },
    ]);
  });
});
