import { describe, expect, it } from 'vitest';
import { FramingError, JsonStreamSplitter } from './framing.ts';

const messages = [
  { id: 1, method: 'echo', params: [] },
  { id: 2, result: [{ rows: [{ name: 'a}b{c', note: 'quote " and \\ backslash' }] }], error: null },
  { id: null, method: 'update2', params: ['m1', { T: { u: { modify: { s: ['set', ['}', '{', ']']] } } } }] },
  { id: 3, result: 'unicode: ✓ 日本 \u00e9 \\" "}"', error: null },
  // Strings ending in an escaped backslash (the quote after it closes them), and a long one.
  { id: 4, result: ['a\\', '\\\\', `${'x'.repeat(300)}"}`, '\\"{'], error: null },
];
const wire = Buffer.from(messages.map((m) => JSON.stringify(m)).join(''), 'utf8');

describe('JsonStreamSplitter', () => {
  it('splits concatenated messages in one read', () => {
    expect(new JsonStreamSplitter().push(wire)).toEqual(messages);
  });

  it('reassembles messages split at every byte position, including inside UTF-8 sequences and escapes', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const s = new JsonStreamSplitter();
      const out = [...s.push(wire.subarray(0, cut)), ...s.push(wire.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual(messages);
      expect(s.idle).toBe(true);
    }
  });

  it('handles one byte per read', () => {
    const s = new JsonStreamSplitter();
    const out: unknown[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...s.push(wire.subarray(i, i + 1)));
    expect(out).toEqual(messages);
  });

  it('keeps a partial message until it completes and tolerates whitespace between messages', () => {
    const s = new JsonStreamSplitter();
    expect(s.push('{"a":"{')).toEqual([]);
    expect(s.idle).toBe(false);
    expect(s.push('"}\n {"b":[1,{"c":2}]}  {')).toEqual([{ a: '{' }, { b: [1, { c: 2 }] }]);
    expect(s.push('}')).toEqual([{}]);
  });

  it('rejects bytes that cannot start a message, and oversized messages', () => {
    expect(() => new JsonStreamSplitter().push('x{}')).toThrow(FramingError);
    const s = new JsonStreamSplitter({ maxMessageBytes: 10 });
    expect(() => s.push('{"aaaaaaaaaaaaaaaa":')).toThrow(/larger than 10/);
  });
});
