import { describe, expect, it } from 'vitest';
import { MAC_KEYS, SUBNET_KEYS_LUA, stateKey, subnetKeys } from './keys.ts';
import * as scripts from './scripts/index.ts';

describe('key names', () => {
  it('a subnet script gets state, index and the two page sets, all in the subnet slot', () => {
    expect(subnetKeys('net1')).toEqual([
      '{ipam:net1}:state',
      '{ipam:net1}:idx',
      '{ipam:net1}:4:pg',
      '{ipam:net1}:6:pg',
    ]);
    expect(stateKey('net1')).toBe('{ipam:net1}:state');
    expect(MAC_KEYS).toEqual(['{ipam-mac}:map', '{ipam-mac}:u']);
  });

  it('no script spells a key name: they come from KEYS or from bitmapKey in keys.ts', () => {
    for (const [name, lua] of Object.entries(scripts)) {
      const own = lua.replaceAll(SUBNET_KEYS_LUA, '');
      expect(own, name).not.toMatch(/\{ipam/);
      expect(own, name).not.toMatch(/\bT \.\./);
    }
  });
});
