import { describe, expect, it } from 'vitest';
import {
  applyModify,
  columnKinds,
  fromJson,
  map,
  mapRecord,
  NamedUuid,
  namedUuid,
  OvsMap,
  OvsSet,
  op,
  operationToJson,
  resultFromJson,
  set,
  setValues,
  toJson,
  Uuid,
  uuid,
  where,
  whereUuid,
} from './protocol.ts';

describe('OVSDB notation', () => {
  it('encodes atoms, uuids, named uuids, sets and maps as RFC 7047 JSON', () => {
    expect(toJson(uuid('u1'))).toEqual(['uuid', 'u1']);
    expect(toJson(namedUuid('new'))).toEqual(['named-uuid', 'new']);
    expect(toJson(set(['a', 'b']))).toEqual(['set', ['a', 'b']]);
    expect(toJson(set([]))).toEqual(['set', []]);
    expect(toJson(map({ k: 'v' }))).toEqual(['map', [['k', 'v']]]);
    expect(toJson(7)).toBe(7);
  });

  it('decodes what it encodes', () => {
    for (const v of [uuid('x'), set([uuid('a'), uuid('b')]), map({ a: '1', b: '2' }), 'plain', true, 3]) {
      expect(fromJson(toJson(v))).toEqual(v);
    }
    expect(fromJson(['named-uuid', 'n'])).toBeInstanceOf(NamedUuid);
    expect(() => fromJson({ no: 'object' })).toThrow(TypeError);
  });

  it('normalises one-element sets given as a bare atom, and maps to records', () => {
    expect(setValues('only')).toEqual(['only']);
    expect(setValues(new OvsSet(['a', 'b']))).toEqual(['a', 'b']);
    expect(setValues(undefined)).toEqual([]);
    expect(mapRecord(new OvsMap([['virtual-ip', '10.16.0.100']]))).toEqual({ 'virtual-ip': '10.16.0.100' });
  });

  it('writes operations with the hyphenated uuid-name and wait guards', () => {
    expect(operationToJson(op.insert('T', { name: 'a' }, 'row1'))).toEqual({
      op: 'insert',
      table: 'T',
      row: { name: 'a' },
      'uuid-name': 'row1',
    });
    expect(operationToJson(op.wait('T', [where('name', '==', 'a')], ['name'], []))).toEqual({
      op: 'wait',
      table: 'T',
      where: [['name', '==', 'a']],
      columns: ['name'],
      until: '==',
      rows: [],
      timeout: 0,
    });
  });

  it('selects a row by uuid: a string becomes a uuid atom, a named uuid stays named', () => {
    expect(whereUuid('5f1c')).toEqual(['_uuid', '==', new Uuid('5f1c')]);
    expect(operationToJson(op.select('T', [whereUuid('5f1c')]))).toMatchObject({
      where: [['_uuid', '==', ['uuid', '5f1c']]],
    });
    expect(operationToJson(op.delete('T', [whereUuid(namedUuid('row1'))]))).toMatchObject({
      where: [['_uuid', '==', ['named-uuid', 'row1']]],
    });
  });

  it('decodes results with rows and errors', () => {
    const r = resultFromJson({ rows: [{ _uuid: ['uuid', 'u'], ports: ['set', []] }] });
    expect(r.rows?.[0]?._uuid).toEqual(new Uuid('u'));
    expect(resultFromJson({ error: 'timed out', details: 'x' })).toEqual({
      error: 'timed out',
      details: 'x',
    });
  });

  it('applies update2 diffs: sets toggle, map keys add/change/remove, scalars replace', () => {
    const row = { name: 'a', ports: set([uuid('p1'), uuid('p2')]), options: map({ a: '1', b: '2' }) };
    const next = applyModify(row, {
      name: 'b',
      ports: set([uuid('p2'), uuid('p3')]),
      options: map({ a: '1', b: '3', c: '4' }),
    });
    expect(next.name).toBe('b');
    expect(setValues(next.ports).map(String).sort()).toEqual(['p1', 'p3']);
    expect(mapRecord(next.options)).toEqual({ b: '3', c: '4' });
    // A one-element set arrives as a bare atom: the schema's column kinds keep it a set.
    const kinds = columnKinds(
      { tables: { T: { columns: { addresses: { type: { key: 'string', min: 0, max: 'unlimited' } } } } } },
      'T',
    );
    expect(kinds.addresses).toBe('set');
    const toggled = applyModify({ addresses: 'm1' }, { addresses: 'm2' }, kinds);
    expect(setValues(toggled.addresses).sort()).toEqual(['m1', 'm2']);
  });
});
