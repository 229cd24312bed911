import { describe, expect, it } from 'vitest';
import { storedEvent, storedJson } from './encoding.ts';
import { copyJson, jsonEqual } from './json.ts';

describe('copyJson', () => {
  it('copies every level, so changing the copy leaves the original alone', () => {
    const original = { a: [1, { b: 'x' }], c: { d: null, e: true }, u: undefined };
    const copy = copyJson(original);
    expect(copy).toEqual({ a: [1, { b: 'x' }], c: { d: null, e: true } });
    (copy.a[1] as { b: string }).b = 'y';
    copy.c.e = false;
    expect(original).toEqual({ a: [1, { b: 'x' }], c: { d: null, e: true }, u: undefined });
    expect(JSON.stringify(copyJson(original))).toBe(JSON.stringify(original));
  });
});

describe('jsonEqual', () => {
  it('ignores key order and undefined fields, not array order or values', () => {
    expect(jsonEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, z: undefined })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 0 })).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
  it('leaves the skipped top-level keys out', () => {
    const skip = (k: string) => k === 'metadata';
    expect(jsonEqual({ metadata: { x: 1 }, spec: 1 }, { metadata: { x: 2 }, spec: 1 }, skip)).toBe(true);
    expect(jsonEqual({ metadata: { x: 1 }, spec: 1 }, { spec: 2 }, skip)).toBe(false);
  });
});

describe('encoding of stored objects', () => {
  it('gives the bytes JSON.stringify would, for replies and for watch lines', () => {
    const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'é' }, spec: { n: 1 } };
    expect(storedJson(obj)).toBe(JSON.stringify(obj));
    const line = storedEvent('MODIFIED', obj);
    expect(line.toString('utf8')).toBe(`${JSON.stringify({ type: 'MODIFIED', object: obj })}\n`);
    expect(storedEvent('MODIFIED', obj)).toBe(line);
    expect(storedEvent('DELETED', obj).toString('utf8')).toBe(
      `${JSON.stringify({ type: 'DELETED', object: obj })}\n`,
    );
  });
});
