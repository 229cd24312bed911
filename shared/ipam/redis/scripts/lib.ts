// Lua shared by the scripts, prepended to each that needs it: position and bitmap helpers (COMMON),
// the cluster-wide MAC registry (MAC_LIB), and reading a subnet's state hash (SUBNET_LIB).
import { SUBNET_KEYS_LUA } from '../keys.ts';

export const COMMON = `
local PAGE = 65536
local function fmt(n) return string.format('%d', n) end
local function parsePos(pos)
  local p, b = string.match(pos, '^(%d+):(%d+)$')
  return tonumber(p), tonumber(b)
end
-- bits a..z of one page key set to v: edge bits one by one, whole bytes in one SETRANGE
local function setRange(key, a, z, v)
  while a <= z and a % 8 ~= 0 do redis.call('SETBIT', key, a, v); a = a + 1 end
  while z >= a and (z + 1) % 8 ~= 0 do redis.call('SETBIT', key, z, v); z = z - 1 end
  if a <= z then
    redis.call('SETRANGE', key, a / 8, string.rep(v == 1 and '\\255' or '\\0', (z - a + 1) / 8))
  end
end
-- first clear bit at or after byte b of a bitmap key (BITPOS answers 0 for a missing key and -1
-- past the end of the string: both mean "clear from byte b on")
local function clearBit(key, b)
  local pos = redis.call('BITPOS', key, 0, b)
  if pos < b * 8 then pos = b * 8 end
  return pos
end
`;

/**
 * Lua: posText(prefix, n), the text prefix .. n for an integer 0 <= n < 100,000 (a bit inside a
 * page is below 65,536): the same text as Lua's own number-to-string, without the temporary string
 * that one makes through sprintf('%.14g'). Constant strings and one concatenation cost ~0.1 µs
 * less per allocation inside Redis (bench/ipam-phases.ts); the tables are constants of the script.
 */
export const POS_TEXT = `
local D1 = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}
local D2 = {'00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39', '40', '41', '42', '43', '44', '45', '46', '47', '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59', '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71', '72', '73', '74', '75', '76', '77', '78', '79', '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95', '96', '97', '98', '99'}
local function posText(prefix, n)
  if n < 10 then return prefix .. D1[n + 1] end
  if n < 100 then return prefix .. D2[n + 1] end
  local lo, hi = n % 100, math.floor(n / 100)
  if hi < 10 then return prefix .. D1[hi + 1] .. D2[lo + 1] end
  if hi < 100 then return prefix .. D2[hi + 1] .. D2[lo + 1] end
  return prefix .. D1[math.floor(hi / 100) + 1] .. D2[hi % 100 + 1] .. D2[lo + 1]
end
`;

/** The MAC registry's Lua; `MAP` and `MU` must be defined before it (keys.ts macKeysLua). */
export const MAC_LIB = `
local MAC_BITS = 16777215
local function macBit(mac)
  if string.sub(mac, 1, 9) ~= '00:00:00:' then return nil end
  local v = tonumber(string.sub(mac, 10, 11) .. string.sub(mac, 13, 14) .. string.sub(mac, 16, 17), 16)
  if v == 0 then return nil end
  return v - 1
end
-- a MAC of the dynamic space whose bit is set: with no m:<MAC> it is still taken (layout v3 keeps
-- a MAC claimed dynamically by its bit and the owner's record only; its holder is unknown here)
local function macBitTaken(mac)
  local b = macBit(mac)
  return b ~= nil and redis.call('GETBIT', MU, b) == 1
end
local function macFormat(bit)
  local v = bit + 1
  return string.format('00:00:00:%02X:%02X:%02X', math.floor(v / 65536), math.floor(v / 256) % 256, v % 256)
end
-- Returns mac, plan (nil when the holder already has it) or nil, err. Must be the last check of a
-- script: a dynamic MAC is claimed here (SETBIT answers whether it was free), so nothing may fail
-- after it. Dynamic MACs come from a cursor that goes round the whole space, so a released MAC
-- is handed out again only after every other one has been.
local function macPlan(holder, fixed)
  local m = redis.call('HMGET', MAP, 'h:' .. holder, '#next')
  local cur = m[1]
  if cur then
    if fixed ~= '' and fixed ~= cur then return nil, {'ERR', 'ImmutableField', 'mac', cur} end
    return cur, nil
  end
  if fixed ~= '' then
    local h = redis.call('HGET', MAP, 'm:' .. fixed)
    -- the holder's own, registered by m:<MAC> only (allocated on one Redis): held, nothing to write
    if h == holder then return fixed, nil end
    if h then return nil, {'ERR', 'MACConflict', 'mac', h} end
    if macBitTaken(fixed) then return nil, {'ERR', 'MACConflict', 'mac', ''} end
    return fixed, {mac = fixed, bit = macBit(fixed)}
  end
  local nxt = tonumber(m[2] or '0')
  for _ = 1, 64 do
    local bit = nxt % MAC_BITS
    nxt = bit + 1
    if redis.call('SETBIT', MU, bit, '1') == 0 then
      local mac = macFormat(bit)
      return mac, {mac = mac, claimed = true, next = nxt % MAC_BITS}
    end
  end
  -- a crowded stretch: take the lowest free one
  local bit = clearBit(MU, 0)
  if bit >= MAC_BITS then return nil, {'ERR', 'SubnetFull', 'mac', ''} end
  redis.call('SETBIT', MU, bit, 1)
  return macFormat(bit), {mac = macFormat(bit), claimed = true, next = (bit + 1) % MAC_BITS}
end
-- withHolder: also write h:<holder> (the Cluster protocol, whose address script is in another
-- slot, finds a holder's MAC there; one Redis in the old layout, see macRead). Otherwise only
-- m:<MAC>: on one Redis the owner's record carries its MAC.
local function macApply(holder, plan, withHolder)
  local hs = {'m:' .. plan.mac, holder}
  if withHolder then
    hs[3] = 'h:' .. holder; hs[4] = plan.mac
    -- '#h' '0' (new layout, no h:<holder> yet) becomes '1': allocate on one Redis then reads them.
    -- Absent (the old layout) stays absent: only the operator's switch ends the old layout.
    if redis.call('HGET', MAP, '#h') == '0' then hs[5] = '#h'; hs[6] = '1' end
  end
  if plan.claimed then hs[#hs + 1] = '#next'; hs[#hs + 1] = plan.next end
  redis.call('HSET', MAP, unpack(hs))
  if plan.bit and not plan.claimed then redis.call('SETBIT', MU, plan.bit, 1) end
end
-- a holder's MAC freed: the one h:<holder> names, else known (the MAC in the owner's record: on
-- one Redis there is no h:<holder> since the record carries it). m:<MAC> and the bit are freed
-- only when they are the holder's: m:<MAC> names it, or (layout v3, '#m' '1') there is no m:<MAC>
-- and the record names the MAC, so the record was its only copy beside the bit.
local function macRelease(holder, known)
  local r = redis.call('HMGET', MAP, 'h:' .. holder, '#m')
  local mac = r[1]
  if not mac then
    if not known or known == '' then return nil end
    mac = known
  end
  local h = redis.call('HGET', MAP, 'm:' .. mac)
  if h == holder then
    redis.call('HDEL', MAP, 'h:' .. holder, 'm:' .. mac)
    local bit = macBit(mac)
    if bit then redis.call('SETBIT', MU, bit, 0) end
  else
    if r[1] then redis.call('HDEL', MAP, 'h:' .. holder) end
    if not h and r[2] == '1' and mac == known then
      local bit = macBit(mac)
      if bit then redis.call('SETBIT', MU, bit, 0) end
    end
  end
  return mac
end
`;

const FAMILY_FIELDS = ['pages', 'last', 'gw', 'ep', 'eb', 'up', 'ub', 'n', 'ox'];
const hmgetFamilies = FAMILY_FIELDS.flatMap((f) => [`'4:${f}'`, `'6:${f}'`]).join(', ');

export const SUBNET_LIB = `${SUBNET_KEYS_LUA}local FIELDS = {${FAMILY_FIELDS.map((f) => `'${f}'`).join(', ')}}
-- reads gen plus the family fields (and extra fields); returns gen, fam table, extra values
local function readState(...)
  local extra = {...}
  local m = redis.call('HMGET', S, 'gen', ${hmgetFamilies}, ...)
  local fam = {['4'] = {f = '4', i = 1}, ['6'] = {f = '6', i = 2}}
  for i, name in ipairs(FIELDS) do
    fam['4'][name] = m[2 * i]
    fam['6'][name] = m[2 * i + 1]
  end
  for _, F in pairs(fam) do
    if F.pages then
      F.pages = tonumber(F.pages); F.last = tonumber(F.last)
      F.ep = tonumber(F.ep); F.eb = tonumber(F.eb); F.up = tonumber(F.up); F.ub = tonumber(F.ub)
      F.n = tonumber(F.n or '0'); F.ox = tonumber(F.ox or '0')
    else
      fam[F.f] = nil
    end
  end
  local rest = {}
  for i = 1, #extra do rest[i] = m[${FAMILY_FIELDS.length * 2 + 1} + i] end
  return m[1], fam, rest
end
local function splitRecord(rec)
  local v4, v6, mac = string.match(rec, '^([^|]*)|([^|]*)|(.*)$')
  return {['4'] = v4, ['6'] = v6}, mac
end
`;
