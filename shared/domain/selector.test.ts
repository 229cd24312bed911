import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRequirement, matchesSelector, parseSelector, parseSelectorItem } from './selector.ts';

describe('selector', () => {
  it('parses and formats items', () => {
    expect(parseSelectorItem(' app :aap1 ')).toEqual({ key: 'app', value: 'aap1' });
    expect(formatRequirement({ key: 'app', value: 'aap1' })).toBe('app: aap1');
    expect(typeof parseSelectorItem('app')).toBe('string');
    expect(typeof parseSelectorItem('app: a:b')).toBe('string');
  });

  it('collapses exact duplicates and reports every bad item with its index', () => {
    expect(parseSelector(['a: 1', 'a:1'])).toEqual({ ok: true, requirements: [{ key: 'a', value: '1' }] });
    const r = parseSelector(['a: 1', 'x', 'y']);
    expect(r.ok ? [] : r.errors.map((e) => e.index)).toEqual([1, 2]);
  });

  it('matches as an AND of key/value pairs', () => {
    const reqs = [
      { key: 'app', value: 'web' },
      { key: 'tier', value: 'fe' },
    ];
    expect(matchesSelector(reqs, { app: 'web', tier: 'fe', x: 'y' })).toBe(true);
    expect(matchesSelector(reqs, { app: 'web' })).toBe(false);
    expect(matchesSelector(reqs, undefined)).toBe(false);
    expect(matchesSelector([], undefined)).toBe(true);
    expect(matchesSelector([{ key: 'e', value: '' }], { e: '' })).toBe(true);
    expect(matchesSelector([{ key: 'e', value: '' }], {})).toBe(false);
    expect(matchesSelector([{ key: 'toString', value: '' }], {})).toBe(false);
  });

  it('property: labels always match a selector built from themselves, and a changed value never does', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
    fc.assert(
      fc.property(fc.dictionary(name, name, { minKeys: 1 }), (labels) => {
        const items = Object.entries(labels).map(([k, v]) => `${k}: ${v}`);
        const parsed = parseSelector(items);
        if (!parsed.ok) return false;
        const [k] = Object.keys(labels);
        const changed = { ...labels, [k as string]: `${labels[k as string]}x` };
        return matchesSelector(parsed.requirements, labels) && !matchesSelector(parsed.requirements, changed);
      }),
    );
  });
});
