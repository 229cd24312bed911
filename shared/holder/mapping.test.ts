import { describe, expect, it } from 'vitest';
import { OvsSet } from '../ovsdb/protocol.ts';
import {
  applyBindingUpdates,
  bindingFromRow,
  holderChanges,
  holdersByVip,
  vipOfVirtualPort,
} from './mapping.ts';

describe('holder mapping', () => {
  it('maps virtual ports of both families to their Vip', () => {
    expect(vipOfVirtualPort('vip-aap')).toBe('vip-aap');
    expect(vipOfVirtualPort('vip-aap_v6')).toBe('vip-aap');
  });

  it('follows virtual_parent through initial, modify diffs and delete', () => {
    let rows = applyBindingUpdates(
      new Map(),
      {
        Port_Binding: {
          u1: { initial: { logical_port: 'vip-aap', type: 'virtual', virtual_parent: new OvsSet([]) } },
        },
      },
      true,
    );
    expect(holdersByVip([...rows.values()].map(bindingFromRow))).toEqual(new Map([['vip-aap', '']]));
    rows = applyBindingUpdates(
      rows,
      { Port_Binding: { u1: { modify: { virtual_parent: 'busybox.default' } } } },
      false,
    );
    expect(bindingFromRow(rows.get('u1')!).virtualParent).toBe('busybox.default');
    // a move carries the new value (the column holds at most one element), as ovsdb-server sends it
    rows = applyBindingUpdates(
      rows,
      { Port_Binding: { u1: { modify: { virtual_parent: 'b2.default' } } } },
      false,
    );
    expect(holdersByVip([...rows.values()].map(bindingFromRow)).get('vip-aap')).toBe('b2.default');
    rows = applyBindingUpdates(
      rows,
      { Port_Binding: { u1: { modify: { virtual_parent: new OvsSet([]) } } } },
      false,
    );
    expect(holdersByVip([...rows.values()].map(bindingFromRow)).get('vip-aap')).toBe('');
    rows = applyBindingUpdates(rows, { Port_Binding: { u1: { delete: null } } }, false);
    expect(rows.size).toBe(0);
  });

  it('takes the first family of a dual-stack Vip, else the second', () => {
    const h = holdersByVip([
      { logicalPort: 'd_v6', virtualParent: 'b.ns' },
      { logicalPort: 'd', virtualParent: 'a.ns' },
      { logicalPort: 'v6only', virtualParent: '' },
      { logicalPort: 'v6only_v6', virtualParent: 'x.ns' },
    ]);
    expect(h).toEqual(
      new Map([
        ['d', 'a.ns'],
        ['v6only', 'x.ns'],
      ]),
    );
  });

  it('writes only what differs, and clears a holder whose port is gone', () => {
    const desired = new Map([
      ['a', 'p1.ns'],
      ['b', ''],
      ['c', 'p2.ns'],
    ]);
    const shown = new Map([
      ['a', 'p1.ns'],
      ['b', 'old.ns'],
      ['gone', 'p3.ns'],
      ['quiet', ''],
    ]);
    expect(holderChanges(desired, shown)).toEqual([
      { vip: 'b', holder: '' },
      { vip: 'c', holder: 'p2.ns' },
      { vip: 'gone', holder: '' },
    ]);
  });
});
