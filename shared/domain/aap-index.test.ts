// The AAP parent index's pure parts (shared/domain/aap.ts): what a pod records, its tokens, and
// which members a Vip's reconcile forgets.
import { describe, expect, it } from 'vitest';
import { indexToken, namingPod, staleMembers, tokenPrefixOf } from './aap.ts';
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
    expect(t).toBe('u1/7/x');
    expect(t.startsWith(tokenPrefixOf('u12'))).toBe(false);
    expect(indexToken({}, 'x').startsWith(tokenPrefixOf(undefined))).toBe(true);
  });
  it('stale: gone, or another pod under the name that does not name the Vip; the recorded pod stays', () => {
    const names = (aaps: string, uid: string, labels: Record<string, string> = {}) => {
      const p = pod('x', { ann: { 'ovn.kubernetes.io/aaps': aaps }, labels });
      p.metadata.uid = uid;
      return p;
    };
    expect(
      staleMembers('v', [
        { name: 'gone', token: 'u1/5/a', pod: undefined },
        { name: 'recreated-elsewhere', token: 'u2/5/b', pod: names('w', 'u9') },
        { name: 'recreated-naming', token: 'u3/5/c', pod: names('v', 'u8') },
        { name: 'moved-on', token: 'u4/5/d', pod: names('w', 'u4') },
        { name: 'other-labels', token: 'u5/5/e', pod: names('w,v', 'u5', { app: 'no' }) },
      ]),
    ).toEqual([
      { name: 'gone', token: 'u1/5/a' },
      { name: 'recreated-elsewhere', token: 'u2/5/b' },
    ]);
  });
});
