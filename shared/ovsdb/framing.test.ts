import { describe, expect, it } from 'vitest';
import { ChunkedMessage, FramingError, JsonStreamSplitter } from './framing.ts';

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

describe('JsonStreamSplitter with large messages in pieces', () => {
  // A monitor reply (rows by uuid at depth 4), a select reply (a rows array at depth 4) and an
  // update3 notification, with strings that hold the structure characters the scan counts.
  const rows = Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [
      `u-${i}`,
      { initial: { name: `p,${i}}`, external_ids: ['map', [['pod', `ns/p[${i}],"x"`]]], up: ['set', []] } },
    ]),
  );
  const big = [
    { id: 7, result: [false, 'txn', { Logical_Switch_Port: rows, Other: {} }], error: null },
    { id: 8, result: [{ rows: Object.values(rows).map((r) => r.initial) }, { count: 1 }], error: null },
    { id: null, method: 'update3', params: ['m1', 'txn2', { Logical_Switch_Port: rows }] },
    { id: 9, result: [], error: null },
  ];
  const bigWire = Buffer.from(big.map((m) => JSON.stringify(m)).join(''), 'utf8');
  const parsed = (out: unknown[]) => out.map((m) => (m instanceof ChunkedMessage ? m.parseAll() : m));

  it('hands over a large message as pieces that parse to the same value, at every read boundary', () => {
    const whole = new JsonStreamSplitter({ chunkAboveBytes: 1_000, pieceBytes: 300 }).push(bigWire);
    expect(whole.map((m) => m instanceof ChunkedMessage)).toEqual([true, true, true, false]);
    const first = whole[0] as ChunkedMessage;
    let steps = 0;
    while (!first.step()) steps++;
    expect(steps).toBeGreaterThan(5);
    expect(first.value).toEqual(big[0]);
    expect(parsed(whole)).toEqual(big);
    for (let cut = 1; cut < bigWire.length; cut += 97) {
      const s = new JsonStreamSplitter({ chunkAboveBytes: 1_000, pieceBytes: 300 });
      expect(
        parsed([...s.push(bigWire.subarray(0, cut)), ...s.push(bigWire.subarray(cut))]),
        `cut at ${cut}`,
      ).toEqual(big);
    }
  });

  it('parses small messages, and every message without the option, at once', () => {
    expect(new JsonStreamSplitter({ chunkAboveBytes: 1_000, pieceBytes: 300 }).push(wire)).toEqual(messages);
    expect(new JsonStreamSplitter().push(bigWire)).toEqual(big);
  });
});
