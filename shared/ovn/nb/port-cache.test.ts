import { describe, expect, it } from 'vitest';
import { map, set } from '../../ovsdb/protocol.ts';
import type { LogicalSwitchPort } from './model.ts';
import { applyPortDiff } from './port-cache.ts';

const port: LogicalSwitchPort = Object.freeze({
  uuid: 'u1',
  name: 'p.ns',
  type: '',
  addresses: ['00:00:00:00:00:01 10.0.0.1'],
  options: { a: '1', b: '2' },
  externalIds: { ls: 'sw' },
  portSecurity: ['00:00:00:00:00:01 10.0.0.1'],
  up: true,
});

describe('applyPortDiff (update2 modify on a cached port)', () => {
  it('toggles set elements, keeping the order of those that stay', () => {
    const next = applyPortDiff(port, {
      addresses: set(['00:00:00:00:00:01 10.0.0.1', 'router', 'dynamic']),
      port_security: '00:00:00:00:00:01 10.0.0.1', // a one-element diff comes bare
    });
    expect(next.addresses).toEqual(['router', 'dynamic']);
    expect(next.portSecurity).toEqual([]);
  });

  it('removes a map key sent with its value, changes one sent with another, adds a new one', () => {
    const next = applyPortDiff(port, { options: map({ a: '1', b: '9', c: '3' }) });
    expect(next.options).toEqual({ b: '9', c: '3' });
  });

  it('replaces scalars and the optional up, which an empty set clears', () => {
    expect(applyPortDiff(port, { name: 'q.ns', type: 'virtual' })).toMatchObject({
      name: 'q.ns',
      type: 'virtual',
    });
    expect(applyPortDiff(port, { up: false }).up).toBe(false);
    expect('up' in applyPortDiff(port, { up: set([]) })).toBe(false);
  });

  it('leaves the cached port untouched and ignores columns it does not keep', () => {
    const next = applyPortDiff(port, { options: map({ a: '1' }), tag: 5 });
    expect(port.options).toEqual({ a: '1', b: '2' });
    expect(next).toEqual({ ...port, options: { b: '2' } });
  });
});
