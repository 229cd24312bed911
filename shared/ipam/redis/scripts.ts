// The Lua scripts: each allocator decision is one script, run atomically in one round trip.
//
// Key layout. A subnet's keys share the hash tag {ipam:<subnet>} (one Redis Cluster slot); T below is
// the prefix "{ipam:<subnet>}:" passed in ARGV, f is the family "4" or "6":
//   T meta            hash  spec (JSON), gen, and per family: f:pages, f:last (bits in the last page),
//                           f:gw (gateway position), f:ep/f:eb and f:up/f:ub (page/byte cursors of the
//                           lowest possibly-free bit in the ever/used bitmaps), f:ox (owned addresses
//                           that lie in excludeIps)
//   T res             hash  owner -> "v4pos|v6pos|mac"       T idx  zset of owners (list order)
//   T f:a2o           hash  position -> owner                T f:pg set of pages that have bitmaps
//   T f:u:<page>      bitmap used: excluded, gateway, network address, or owned
//   T f:e:<page>      bitmap ever used (a superset of used): "lowest free" first looks here, so
//                            released addresses are reused only when no never-used one is left
//   T f:x:<page>      bitmap excluded (excludeIps and gateway)
// A position is "<page>:<bit>" with 65536 bits per page: offset from the network address =
// page * 65536 + bit. Pages are separate keys created on first write, so an IPv6 /64 costs memory
// in proportion to what is allocated.
// MACs are cluster-wide under the tag {ipam-mac} (M): M meta (eb/ub byte cursors), M m2h (MAC ->
// holder "<subnet>/<owner>"), M h2m (holder -> MAC), M u and M e (bitmaps of 00:00:00:XX:XX:XX,
// bit i = MAC value i+1, so 00:00:00:00:00:00 is never handed out).
//
// Replies: {'OK', ...} or {'ERR', reason, field, holder-or-held} or {'STALE'} (the caller's spec
// generation is old: reload and retry) or {'NOSUBNET'}. Scripts check everything before the first
// write, so an error leaves no trace (Lua scripts are not rolled back on error).

export const PAGE_BITS = 65536;

const COMMON = `
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
`;

// MK: the MAC keys table, set by each script from its KEYS.
const MAC_LIB = `
local MAC_BITS = 16777215
local function macOffset(mac)
  if string.sub(mac, 1, 9) ~= '00:00:00:' then return nil end
  local v = tonumber(string.sub(mac, 10, 11) .. string.sub(mac, 13, 14) .. string.sub(mac, 16, 17), 16)
  if v == 0 then return nil end
  return v - 1
end
local function macFormat(bit)
  local v = bit + 1
  return string.format('00:00:00:%02X:%02X:%02X', math.floor(v / 65536), math.floor(v / 256) % 256, v % 256)
end
local function macFind(kind)
  local b = tonumber(redis.call('HGET', MK.meta, kind .. 'b') or '0')
  local pos = redis.call('BITPOS', MK[kind], 0, b)
  if pos < b * 8 then pos = b * 8 end
  if pos < MAC_BITS then
    if math.floor(pos / 8) ~= b then redis.call('HSET', MK.meta, kind .. 'b', math.floor(pos / 8)) end
    return pos
  end
  redis.call('HSET', MK.meta, kind .. 'b', math.floor(MAC_BITS / 8))
  return nil
end
-- returns mac, plan (nil when the holder already has it) or nil, err
local function macPlan(holder, fixed)
  local cur = redis.call('HGET', MK.h2m, holder)
  if cur then
    if fixed ~= '' and fixed ~= cur then return nil, {'ERR', 'ImmutableField', 'mac', cur} end
    return cur, nil
  end
  if fixed ~= '' then
    local h = redis.call('HGET', MK.m2h, fixed)
    if h then return nil, {'ERR', 'MACConflict', 'mac', h} end
    return fixed, {mac = fixed, bit = macOffset(fixed)}
  end
  local bit = macFind('e')
  if not bit then bit = macFind('u') end
  if not bit then return nil, {'ERR', 'SubnetFull', 'mac', ''} end
  local mac = macFormat(bit)
  return mac, {mac = mac, bit = bit}
end
local function macApply(holder, plan)
  redis.call('HSET', MK.m2h, plan.mac, holder)
  redis.call('HSET', MK.h2m, holder, plan.mac)
  if plan.bit then
    redis.call('SETBIT', MK.u, plan.bit, 1)
    redis.call('SETBIT', MK.e, plan.bit, 1)
  end
end
local function macRelease(holder)
  local mac = redis.call('HGET', MK.h2m, holder)
  if not mac then return nil end
  redis.call('HDEL', MK.h2m, holder)
  if redis.call('HGET', MK.m2h, mac) == holder then
    redis.call('HDEL', MK.m2h, mac)
    local bit = macOffset(mac)
    if bit then
      redis.call('SETBIT', MK.u, bit, 0)
      local ub = tonumber(redis.call('HGET', MK.meta, 'ub') or '0')
      if math.floor(bit / 8) < ub then redis.call('HSET', MK.meta, 'ub', math.floor(bit / 8)) end
    end
  end
  return mac
end
`;

const SUBNET_LIB = `
local meta = KEYS[1]
local T = ARGV[2]
local function checkGen()
  local gen = redis.call('HGET', meta, 'gen')
  if not gen then return {'NOSUBNET'} end
  if gen ~= ARGV[1] then return {'STALE'} end
  return nil
end
-- lowest clear bit of the ever ('e') or used ('u') bitmaps at or after the family's cursor
local function findFree(f, kind)
  local m = redis.call('HMGET', meta, f .. ':pages', f .. ':last', f .. ':' .. kind .. 'p', f .. ':' .. kind .. 'b')
  local pages, last, p, b = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
  local p0, b0 = p, b
  while p < pages do
    local limit = PAGE
    if p == pages - 1 then limit = last end
    local pos = redis.call('BITPOS', T .. f .. ':' .. kind .. ':' .. fmt(p), 0, b)
    if pos < b * 8 then pos = b * 8 end
    if pos < limit then
      local nb = math.floor(pos / 8)
      if p ~= p0 or nb ~= b0 then
        redis.call('HSET', meta, f .. ':' .. kind .. 'p', fmt(p), f .. ':' .. kind .. 'b', nb)
        -- the page set must list every page that may get bits (audit and delete walk it)
        if p ~= p0 then redis.call('SADD', T .. f .. ':pg', fmt(p)) end
      end
      return p, pos
    end
    p = p + 1
    b = 0
  end
  redis.call('HSET', meta, f .. ':' .. kind .. 'p', fmt(pages), f .. ':' .. kind .. 'b', 0)
  return nil
end
local function lowerUsedCursor(f, p, b)
  local m = redis.call('HMGET', meta, f .. ':up', f .. ':ub')
  local up, ub = tonumber(m[1]), tonumber(m[2])
  local nb = math.floor(b / 8)
  if p < up or (p == up and nb < ub) then
    redis.call('HSET', meta, f .. ':up', fmt(p), f .. ':ub', nb)
  end
end
local function splitRecord(rec)
  local v4, v6, mac = string.match(rec, '^([^|]*)|([^|]*)|(.*)$')
  return {['4'] = v4, ['6'] = v6}, mac
end
`;

/**
 * allocate. KEYS: 1 T meta, 2 T res, 3 T idx, 4 T 4:a2o, 5 T 6:a2o, and in inline-MAC mode (one
 * Redis, not Cluster) also 6 M meta, 7 M m2h, 8 M h2m, 9 M u, 10 M e.
 * ARGV: 1 gen, 2 T, 3 owner, 4 fixed v4 position or '', 5 fixed v6 position or '',
 * 6 MAC: inline mode the fixed MAC or ''; otherwise the MAC already reserved for this owner,
 * 7 holder id "<subnet>/<owner>" (inline mode).
 * Reply: {'OK', created 0|1, v4pos, v6pos, mac}.
 */
export const ALLOCATE = `${COMMON}${SUBNET_LIB}
local MK = nil
if #KEYS > 5 then MK = {meta = KEYS[6], m2h = KEYS[7], h2m = KEYS[8], u = KEYS[9], e = KEYS[10]} end
${MAC_LIB}
local bad = checkGen()
if bad then return bad end
local owner = ARGV[3]
local fixed = {['4'] = ARGV[4], ['6'] = ARGV[5]}
local rec = redis.call('HGET', KEYS[2], owner)
if rec then
  local held, mac = splitRecord(rec)
  for _, f in ipairs({'4', '6'}) do
    if fixed[f] ~= '' and fixed[f] ~= held[f] then return {'ERR', 'ImmutableField', 'v' .. f, held[f]} end
  end
  if MK and ARGV[6] ~= '' and ARGV[6] ~= mac then return {'ERR', 'ImmutableField', 'mac', mac} end
  return {'OK', 0, held['4'], held['6'], mac}
end
local plan = {}
for i, f in ipairs({'4', '6'}) do
  if redis.call('HEXISTS', meta, f .. ':pages') == 1 then
    if fixed[f] ~= '' then
      if fixed[f] == redis.call('HGET', meta, f .. ':gw') then return {'ERR', 'AddressConflict', 'v' .. f, 'gateway'} end
      local holder = redis.call('HGET', KEYS[3 + i], fixed[f])
      if holder then return {'ERR', 'AddressConflict', 'v' .. f, holder} end
      local p, b = parsePos(fixed[f])
      plan[f] = {pos = fixed[f], p = p, b = b, fixed = true}
    else
      local p, b = findFree(f, 'e')
      if not p then p, b = findFree(f, 'u') end
      if not p then return {'ERR', 'SubnetFull', 'v' .. f, ''} end
      plan[f] = {pos = fmt(p) .. ':' .. b, p = p, b = b}
    end
  elseif fixed[f] ~= '' then
    return {'ERR', 'AddressOutOfRange', 'v' .. f, ''}
  end
end
local mac = ARGV[6]
local macP = nil
if MK then
  local err
  mac, macP = macPlan(ARGV[7], ARGV[6])
  if not mac then return macP end
end
-- every check passed: write
local out = {['4'] = '', ['6'] = ''}
for i, f in ipairs({'4', '6'}) do
  local pl = plan[f]
  if pl then
    local page = fmt(pl.p)
    redis.call('SETBIT', T .. f .. ':u:' .. page, pl.b, 1)
    redis.call('SETBIT', T .. f .. ':e:' .. page, pl.b, 1)
    if pl.fixed then
      redis.call('SADD', T .. f .. ':pg', page)
      if redis.call('GETBIT', T .. f .. ':x:' .. page, pl.b) == 1 then redis.call('HINCRBY', meta, f .. ':ox', 1) end
    end
    redis.call('HSET', KEYS[3 + i], pl.pos, owner)
    out[f] = pl.pos
  end
end
if macP then macApply(ARGV[7], macP) end
redis.call('HSET', KEYS[2], owner, out['4'] .. '|' .. out['6'] .. '|' .. mac)
redis.call('ZADD', KEYS[3], 0, owner)
return {'OK', 1, out['4'], out['6'], mac}
`;

/**
 * release. KEYS as allocate (5, or 10 in inline-MAC mode). ARGV: 1 gen (ignored: release needs no
 * spec), 2 T, 3 owner, 4 holder id. Reply: {released 0|1, mac or ''}.
 */
export const RELEASE = `${COMMON}${SUBNET_LIB}
local MK = nil
if #KEYS > 5 then MK = {meta = KEYS[6], m2h = KEYS[7], h2m = KEYS[8], u = KEYS[9], e = KEYS[10]} end
${MAC_LIB}
local owner = ARGV[3]
local rec = redis.call('HGET', KEYS[2], owner)
local mac = ''
if rec then
  local held
  held, mac = splitRecord(rec)
  for i, f in ipairs({'4', '6'}) do
    local pos = held[f]
    if pos ~= '' then
      local p, b = parsePos(pos)
      local page = fmt(p)
      if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then
        redis.call('HINCRBY', meta, f .. ':ox', -1)
      else
        redis.call('SETBIT', T .. f .. ':u:' .. page, b, 0)
        lowerUsedCursor(f, p, b)
      end
      if redis.call('HGET', KEYS[3 + i], pos) == owner then redis.call('HDEL', KEYS[3 + i], pos) end
    end
  end
  redis.call('HDEL', KEYS[2], owner)
  redis.call('ZREM', KEYS[3], owner)
end
if MK then
  local m = macRelease(ARGV[4])
  if m and mac == '' then mac = m end
end
if rec then return {1, mac} end
return {0, mac}
`;

/** macReserve (Cluster mode). KEYS: M meta, m2h, h2m, u, e. ARGV: holder, fixed MAC or ''.
 *  Reply {'OK', created 0|1, mac} or {'ERR', ...}. */
export const MAC_RESERVE = `
local MK = {meta = KEYS[1], m2h = KEYS[2], h2m = KEYS[3], u = KEYS[4], e = KEYS[5]}
${MAC_LIB}
local mac, plan = macPlan(ARGV[1], ARGV[2])
if not mac then return plan end
if plan then macApply(ARGV[1], plan); return {'OK', 1, mac} end
return {'OK', 0, mac}
`;

/** macRelease (Cluster mode). KEYS as macReserve. ARGV: holder. Reply: the MAC released or false. */
export const MAC_RELEASE = `
local MK = {meta = KEYS[1], m2h = KEYS[2], h2m = KEYS[3], u = KEYS[4], e = KEYS[5]}
${MAC_LIB}
return macRelease(ARGV[1])
`;

/**
 * registerSubnet. KEYS: 1 T meta, 2 T res, 3 T idx, 4 T 4:a2o, 5 T 6:a2o.
 * ARGV: 1 expected gen ('' = must be new or same), 2 T, 3 spec JSON (canonical), 4 cidrBlock,
 * 5 old spec JSON the caller saw ('' if none), then per family present in either old or new plan
 * a block: f, pages, last, gateway pos, first-usable pos, network-reserved (0|1),
 * nNew, then nNew triples (page, fromBit, toBit) of the new excluded bits (excludeIps+gateway),
 * nOld, then nOld triples of the old excluded bits (to clear). pages = 0 means "family absent".
 * Reply: {'OK', gen, changed 0|1} | {'STALE'} | {'ERR', reason, field, detail}.
 */
export const REGISTER = `${COMMON}
local meta = KEYS[1]
local T = ARGV[2]
local cur = redis.call('HMGET', meta, 'gen', 'spec', 'cidr')
if cur[1] and cur[2] == ARGV[3] then return {'OK', cur[1], 0} end
if (cur[2] or '') ~= ARGV[5] then return {'STALE'} end
local gen = tonumber(cur[1] or '0') + 1
local resetAll = (not cur[1]) or cur[3] ~= ARGV[4]
if cur[1] and resetAll then
  local n = redis.call('HLEN', KEYS[2])
  if n > 0 then return {'ERR', 'InvalidSubnet', 'cidrBlock', tostring(n)} end
end
-- parse family blocks
local blocks = {}
local i = 6
while i <= #ARGV do
  local blk = {f = ARGV[i], pages = tonumber(ARGV[i + 1]), last = tonumber(ARGV[i + 2]), gw = ARGV[i + 3],
    first = ARGV[i + 4], netReserved = ARGV[i + 5] == '1', new = {}, old = {}}
  local n = tonumber(ARGV[i + 6])
  i = i + 7
  for j = 1, n do blk.new[j] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])}; i = i + 3 end
  n = tonumber(ARGV[i])
  i = i + 1
  for j = 1, n do blk.old[j] = {tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])}; i = i + 3 end
  blocks[#blocks + 1] = blk
end
-- a new gateway must not be an owned address
if not resetAll then
  for _, blk in ipairs(blocks) do
    if blk.pages > 0 then
      local a2o = T .. blk.f .. ':a2o'
      local holder = redis.call('HGET', a2o, blk.gw)
      if holder then return {'ERR', 'AddressConflict', 'gateway', holder} end
    end
  end
end
if resetAll then
  for _, f in ipairs({'4', '6'}) do
    for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
      redis.call('DEL', T .. f .. ':u:' .. page, T .. f .. ':e:' .. page, T .. f .. ':x:' .. page)
    end
    redis.call('DEL', T .. f .. ':pg', T .. f .. ':a2o')
  end
  redis.call('DEL', meta, KEYS[2], KEYS[3])
end
for _, blk in ipairs(blocks) do
  local f = blk.f
  if blk.pages == 0 then
    redis.call('HDEL', meta, f .. ':pages', f .. ':last', f .. ':gw', f .. ':ep', f .. ':eb', f .. ':up', f .. ':ub', f .. ':ox')
  else
    if not resetAll then
      for _, r in ipairs(blk.old) do
        local page = fmt(r[1])
        setRange(T .. f .. ':x:' .. page, r[2], r[3], 0)
        setRange(T .. f .. ':u:' .. page, r[2], r[3], 0)
        setRange(T .. f .. ':e:' .. page, r[2], r[3], 0)
      end
    end
    for _, r in ipairs(blk.new) do
      local page = fmt(r[1])
      redis.call('SADD', T .. f .. ':pg', page)
      setRange(T .. f .. ':x:' .. page, r[2], r[3], 1)
      setRange(T .. f .. ':u:' .. page, r[2], r[3], 1)
      setRange(T .. f .. ':e:' .. page, r[2], r[3], 1)
    end
    if blk.netReserved then
      redis.call('SADD', T .. f .. ':pg', '0')
      redis.call('SETBIT', T .. f .. ':u:0', 0, 1)
      redis.call('SETBIT', T .. f .. ':e:0', 0, 1)
    end
    -- owned addresses stay set; recount those inside excludeIps
    local ox = 0
    local owned = redis.call('HKEYS', T .. f .. ':a2o')
    for _, pos in ipairs(owned) do
      local p, b = parsePos(pos)
      local page = fmt(p)
      redis.call('SETBIT', T .. f .. ':u:' .. page, b, 1)
      redis.call('SETBIT', T .. f .. ':e:' .. page, b, 1)
      if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then ox = ox + 1 end
    end
    local fp, fb = parsePos(blk.first)
    redis.call('SADD', T .. f .. ':pg', fmt(fp))
    redis.call('HSET', meta, f .. ':pages', fmt(blk.pages), f .. ':last', blk.last, f .. ':gw', blk.gw,
      f .. ':ep', fmt(fp), f .. ':eb', math.floor(fb / 8), f .. ':up', fmt(fp), f .. ':ub', math.floor(fb / 8),
      f .. ':ox', ox)
  end
end
redis.call('HSET', meta, 'gen', gen, 'spec', ARGV[3], 'cidr', ARGV[4])
return {'OK', tostring(gen), 1}
`;

/** deleteSubnet. KEYS: 1 T meta, 2 T res, 3 T idx. ARGV: 1 T. Reply {'OK', existed 0|1} or
 *  {'ERR', 'InvalidSubnet', 'reservations', n}. */
export const DELETE_SUBNET = `
local T = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'OK', 0} end
local n = redis.call('HLEN', KEYS[2])
if n > 0 then return {'ERR', 'InvalidSubnet', 'reservations', tostring(n)} end
for _, f in ipairs({'4', '6'}) do
  for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
    redis.call('DEL', T .. f .. ':u:' .. page, T .. f .. ':e:' .. page, T .. f .. ':x:' .. page)
  end
  redis.call('DEL', T .. f .. ':pg', T .. f .. ':a2o')
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {'OK', 1}
`;

/** list. KEYS: 1 T meta, 2 T res, 3 T idx. ARGV: 1 exclusive start owner ('' = from the start),
 *  2 limit. Reply: {exists 0|1, owner1, record1, owner2, record2, ...} (limit+1 entries at most). */
export const LIST = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
local owners = redis.call('ZRANGEBYLEX', KEYS[3], from, '+', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
local out = {1}
for _, o in ipairs(owners) do
  out[#out + 1] = o
  out[#out + 1] = redis.call('HGET', KEYS[2], o) or ''
end
return out
`;

/** counts. KEYS: 1 T meta, 2 T 4:a2o, 3 T 6:a2o. Reply: {gen, ox4, ox6, {positions v4}, {positions v6}}. */
export const COUNTS = `
local m = redis.call('HMGET', KEYS[1], 'gen', '4:ox', '6:ox')
if not m[1] then return {false} end
return {m[1], m[2] or '0', m[3] or '0', redis.call('HKEYS', KEYS[2]), redis.call('HKEYS', KEYS[3])}
`;

/** dump (for audit): a consistent snapshot. KEYS: 1 T meta, 2 T res. ARGV: 1 T.
 *  Reply: {gen, res flat, then per family '4','6': {ox, a2o flat, {page, u, e, x, ...}}}. */
export const DUMP = `
local T = ARGV[1]
local m = redis.call('HMGET', KEYS[1], 'gen', '4:ox', '6:ox')
if not m[1] then return {false} end
local out = {m[1], redis.call('HGETALL', KEYS[2])}
for i, f in ipairs({'4', '6'}) do
  local pages = {}
  for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
    pages[#pages + 1] = page
    pages[#pages + 1] = redis.call('GET', T .. f .. ':u:' .. page) or ''
    pages[#pages + 1] = redis.call('GET', T .. f .. ':e:' .. page) or ''
    pages[#pages + 1] = redis.call('GET', T .. f .. ':x:' .. page) or ''
  end
  out[#out + 1] = {m[i + 1] or '0', redis.call('HGETALL', T .. f .. ':a2o'), pages}
end
return out
`;
