import { describe, expect, it } from 'vitest';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from './json-depth.ts';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonNestsDeeperThan', () => {
  it('counts arrays and objects, up to the limit inclusive', () => {
    expect(jsonNestsDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonNestsDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonNestsDeeperThan('{"a":{"b":[{"c":1}]}}', 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ s: `\\"${'['.repeat(500)}` });
    expect(jsonNestsDeeperThan(inString, 2)).toBe(false);
    expect(JSON.parse(inString).s).toMatch(/^\\"\[/);
  });

  it('finds 100,000 unclosed brackets (what would overflow the stack once parsed and walked)', () => {
    expect(jsonNestsDeeperThan('['.repeat(100_000))).toBe(true);
    expect(jsonNestsDeeperThan(`{"a":${nested(100_000)}}`)).toBe(true);
  });
});

describe('jsonNestsDeeperThan: strings', () => {
  it('skips strings ending in escaped backslashes and quotes, and stops at an unterminated one', () => {
    const text = JSON.stringify({ a: 'x\\', b: '\\"[[[', c: [[[1]]] });
    expect(JSON.parse(text).a).toBe('x\\');
    expect(jsonNestsDeeperThan(text, 3)).toBe(true);
    expect(jsonNestsDeeperThan(text, 4)).toBe(false);
    expect(jsonNestsDeeperThan(`"${'['.repeat(300)}`, 2)).toBe(false);
  });
});
