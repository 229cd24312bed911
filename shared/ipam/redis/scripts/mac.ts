// The MAC registry's own scripts, for Redis Cluster where it lives in another slot than the subnet.
import { macKeysLua } from '../keys.ts';
import { COMMON, MAC_LIB } from './lib.ts';

/** macReserve (Cluster mode). KEYS: MAC_KEYS. ARGV: holder, fixed MAC or ''.
 *  Reply {'OK', created 0|1, mac} or {'ERR', ...}. */
export const MAC_RESERVE = `${COMMON}${macKeysLua(1)}${MAC_LIB}
local mac, plan = macPlan(ARGV[1], ARGV[2])
if not mac then return plan end
if plan then macApply(ARGV[1], plan, true); return {'OK', 1, mac} end
return {'OK', 0, mac}
`;

/** macRelease (Cluster mode). KEYS: MAC_KEYS. ARGV: holder, the MAC of the owner's record or ''
 *  (used when the registry has no h:<holder>: an owner allocated on one Redis, whose data moved
 *  to Cluster). Reply: the MAC released or false. */
export const MAC_RELEASE = `${COMMON}${macKeysLua(1)}${MAC_LIB}
return macRelease(ARGV[1], ARGV[2])
`;

/** macSwap (Cluster mode, before REPLACE). KEYS: MAC_KEYS. ARGV: holder, new MAC, the MAC of the
 *  owner's record or '' (as MAC_RELEASE).
 *  Reply {'OK', previous MAC or ''} or {'ERR', 'MACConflict', 'mac', holder}. */
export const MAC_SWAP = `${COMMON}${macKeysLua(1)}${MAC_LIB}
local holder, mac = ARGV[1], ARGV[2]
local h = redis.call('HGET', MAP, 'm:' .. mac)
if h == holder then return {'OK', mac} end
if h then return {'ERR', 'MACConflict', 'mac', h} end
if macBitTaken(mac) then return {'ERR', 'MACConflict', 'mac', ''} end
local prev = macRelease(holder, ARGV[3]) or ''
macApply(holder, {mac = mac, bit = macBit(mac)}, true)
return {'OK', prev}
`;
