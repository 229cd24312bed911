// The Lua scripts: each allocator decision is one script, run atomically in one round trip
// (allocate takes a batch of requests of one subnet and decides them one by one). Scripts check
// everything before their first write, so a refusal leaves no trace (Redis does not roll back a
// script that fails half-way). Hot paths are shaped to make few redis.call()s: one HMGET reads
// every field a decision needs, one HSET writes them back.
//
// Key layout. A subnet's keys share the hash tag {ipam:<subnet>} (one Redis Cluster slot); T is the
// prefix "{ipam:<subnet>}:", f the family "4" or "6". Scripts get T state as KEYS[1] and derive the
// other names from it (same slot, so Cluster accepts them).
//   T state        hash  gen, spec (JSON), cidr, mgr ('kubernetes' when the Subnet reconciler
//                        registered it: the manual API may then not change or delete it); per family: f:pages, f:last (usable bits in the last
//                        page), f:gw (gateway position), f:ep/f:eb and f:up/f:ub (page and byte
//                        cursors of the lowest possibly-free bit in the ever and used bitmaps),
//                        f:n (owned addresses), f:ox (owned addresses inside excludeIps);
//                        o:<owner> -> "v4pos|v6pos|MAC"; f@<pos> -> owner
//   T idx          zset  owners (lexical order for list)
//   T f:u:<page>   bitmap used: network address, excluded, gateway, or owned
//   T f:e:<page>   bitmap ever used (a superset of used). "Lowest free" looks here first, so a
//                         released address is reused only when no never-used one is left
//   T f:x:<page>   bitmap excluded (excludeIps and the gateway)
//   T f:pg         set   pages that may have bitmaps (for audit and delete)
// A position "<page>:<bit>" is the offset from the network address, page * 65536 + bit. Pages are
// separate keys created on first write: an IPv6 /64 costs memory in proportion to what is allocated.
//
// MACs are cluster-wide under their own tag: {ipam-mac}:map (hash: h:<holder> -> MAC,
// m:<MAC> -> holder, #next = the dynamic cursor) and {ipam-mac}:u (bitmap of 00:00:00:XX:XX:XX in
// use; bit i is MAC value i+1, so 00:00:00:00:00:00 is never handed out). A holder is
// "<subnet>/<owner>".
//
// Replies: {'OK', ...} | {'ERR', reason, field, holder-or-held} | {'STALE'} (the caller's spec
// generation is old: reload, retry) | {'NOSUBNET'}.

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
-- first clear bit at or after byte b of a bitmap key (BITPOS answers 0 for a missing key and -1
-- past the end of the string: both mean "clear from byte b on")
local function clearBit(key, b)
  local pos = redis.call('BITPOS', key, 0, b)
  if pos < b * 8 then pos = b * 8 end
  return pos
end
`;

const MAC_LIB = `
local MAP, MU = '{ipam-mac}:map', '{ipam-mac}:u'
local MAC_BITS = 16777215
local function macBit(mac)
  if string.sub(mac, 1, 9) ~= '00:00:00:' then return nil end
  local v = tonumber(string.sub(mac, 10, 11) .. string.sub(mac, 13, 14) .. string.sub(mac, 16, 17), 16)
  if v == 0 then return nil end
  return v - 1
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
    if h then return nil, {'ERR', 'MACConflict', 'mac', h} end
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
local function macApply(holder, plan)
  if plan.claimed then
    redis.call('HSET', MAP, 'm:' .. plan.mac, holder, 'h:' .. holder, plan.mac, '#next', plan.next)
  else
    redis.call('HSET', MAP, 'm:' .. plan.mac, holder, 'h:' .. holder, plan.mac)
    if plan.bit then redis.call('SETBIT', MU, plan.bit, 1) end
  end
end
local function macRelease(holder)
  local mac = redis.call('HGET', MAP, 'h:' .. holder)
  if not mac then return nil end
  if redis.call('HGET', MAP, 'm:' .. mac) == holder then
    redis.call('HDEL', MAP, 'h:' .. holder, 'm:' .. mac)
    local bit = macBit(mac)
    if bit then redis.call('SETBIT', MU, bit, 0) end
  else
    redis.call('HDEL', MAP, 'h:' .. holder)
  end
  return mac
end
`;

const FAMILY_FIELDS = ['pages', 'last', 'gw', 'ep', 'eb', 'up', 'ub', 'n', 'ox'];
const hmgetFamilies = FAMILY_FIELDS.flatMap((f) => [`'4:${f}'`, `'6:${f}'`]).join(', ');

const SUBNET_LIB = `
local S = KEYS[1]
local T = string.sub(S, 1, -6)
local FIELDS = {${FAMILY_FIELDS.map((f) => `'${f}'`).join(', ')}}
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

/**
 * allocate, for a batch of requests of one subnet (micro-batching: the allocator sends the
 * requests of one tick as one call). Each request is decided on its own, in order, exactly as if
 * it ran alone after the ones before it: its own idempotency, its own checks before its own
 * writes, so a refused request leaves no trace and does not affect the others.
 * What makes a batch cheap: the state read (one HMGET for every owner), the hash/index writes (one
 * HSET, one ZADD) and the bitmaps are shared. Bitmaps are read in chunks of CHUNK bytes (GETRANGE,
 * BITPOS to jump over full stretches), changed in Lua, and written back once (SETRANGE of the
 * changed bytes), so an allocation costs no redis.call() of its own.
 * KEYS: 1 T state; 2 {ipam-mac}:map when the MAC is reserved by this script too (one Redis, not
 * Cluster). ARGV: 1 gen, 2 shape: one letter per request, then the requests' arguments: 'o' is
 * one (owner: dynamic addresses, no MAC given), 'f' is four (owner, fixed v4 position or '',
 * fixed v6 position or '', MAC: with KEYS[2] the fixed MAC or '', else the MAC already reserved
 * for this owner).
 * The MAC holder is "<subnet>/<owner>".
 * Reply: {'STALE'} | {'NOSUBNET'} | {'OK', one string per request}, each the record
 *   v4pos '|' v6pos '|' mac (created), '=' and the record (held already), or
 *   'E' reason '|' field '|' holder-or-held (refused).
 */
export const ALLOCATE = `${COMMON}${SUBNET_LIB}${MAC_LIB}
local inline = #KEYS > 1
local shape = ARGV[2]
local n = #shape
local subnet = string.sub(T, 7, -3)
-- requests: 'o' = owner only, 'f' = owner, fixed v4, fixed v6, MAC
local owners, fx4, fx6, macs = {}, {}, {}, {}
do
  local a = 3
  for i = 1, n do
    owners[i] = ARGV[a]
    if string.byte(shape, i) == 102 then
      fx4[i] = ARGV[a + 1]; fx6[i] = ARGV[a + 2]; macs[i] = ARGV[a + 3]
      a = a + 4
    else
      fx4[i] = ''; fx6[i] = ''; macs[i] = ''
      a = a + 1
    end
  end
end
local FAMS = {'4', '6'}
local band, bor, floor = bit.band, bit.bor, math.floor
local MASK = {128, 64, 32, 16, 8, 4, 2, 1}
local fields = {}
for i = 1, n do fields[i] = 'o:' .. owners[i] end
local gen, fam, recList = readState(unpack(fields))
if not gen then return {'NOSUBNET'} end
if gen ~= ARGV[1] then return {'STALE'} end

-- A batch of one or two goes straight to Redis (SETBIT, BITPOS): loading chunks costs more than
-- it saves there. Either way, Redis or the chunks hold every bit this batch set.
local direct = n <= 2
-- bitmap chunks: key -> chunk number -> {bytes, lo, hi (changed byte range, 1-based)}
local CHUNK = 64
local chunks, dirty = {}, {}
local function chunkOf(key, c)
  local byKey = chunks[key]
  if not byKey then byKey = {}; chunks[key] = byKey end
  local ch = byKey[c]
  if not ch then
    local s = redis.call('GETRANGE', key, c * CHUNK, c * CHUNK + CHUNK - 1)
    local bytes = {string.byte(s, 1, -1)}
    for j = #s + 1, CHUNK do bytes[j] = 0 end
    ch = {b = bytes, key = key, c = c}
    byKey[c] = ch
  end
  return ch
end
-- sets mask m in byte j of chunk ch and widens the chunk's changed range
local function setIn(ch, j, m)
  ch.b[j] = bor(ch.b[j], m)
  if not ch.lo then ch.lo = j; ch.hi = j; dirty[#dirty + 1] = ch
  elseif j < ch.lo then ch.lo = j
  elseif j > ch.hi then ch.hi = j end
end
local function setBit(key, off)
  if direct then redis.call('SETBIT', key, off, 1); return end
  local byte = floor(off / 8)
  setIn(chunkOf(key, floor(byte / CHUNK)), byte % CHUNK + 1, MASK[off % 8 + 1])
end
-- first clear bit at or after byte b of a bitmap key, below maxBits, as this batch sees it
local function firstZero(key, b, maxBits)
  if direct then
    local pos = clearBit(key, b)
    if pos >= maxBits then return nil end
    return pos
  end
  local byKey = chunks[key] or {}
  while b * 8 < maxBits do
    local c = floor(b / CHUNK)
    local ch = byKey[c]
    if not ch then
      -- Redis has every bit this batch set inside chunks it loaded, so a full stretch there is
      -- full here too: jump over it
      local pos = redis.call('BITPOS', key, 0, b)
      if pos < b * 8 then pos = b * 8 end
      if pos >= maxBits then return nil end
      b = floor(pos / 8)
      c = floor(b / CHUNK)
      ch = chunkOf(key, c)
      byKey = chunks[key]
    end
    local bytes = ch.b
    for j = b - c * CHUNK + 1, CHUNK do
      local v = bytes[j]
      if v ~= 255 then
        local i, m = 0, 128
        while band(v, m) ~= 0 do m = m / 2; i = i + 1 end
        local pos = (c * CHUNK + j - 1) * 8 + i
        if pos >= maxBits then return nil end
        return pos
      end
    end
    b = (c + 1) * CHUNK
  end
  return nil
end

-- per family: cursors as read, page key names
for _, F in pairs(fam) do
  F.cur = {F.ep, F.eb, F.up, F.ub, F.n, F.ox}
  F.keys = {e = {}, u = {}, x = {}}
  F.pgs = {}
  F.pstr = {}
end
local function pageKey(F, kind, page)
  local k = F.keys[kind][page]
  if not k then k = T .. F.f .. ':' .. kind .. ':' .. page; F.keys[kind][page] = k end
  return k
end
-- the lowest clear bit of the ever ('e') or used ('u') bitmaps from the family's cursor, which
-- moves with it (bits before it are set, so moving it is right even if the request then fails)
local function nextFree(F, kind, pk, bk)
  local p, b = F[pk], F[bk]
  while p < F.pages do
    local limit = PAGE
    if p == F.pages - 1 then limit = F.last end
    local page = F.pstr[p]
    if not page then page = fmt(p); F.pstr[p] = page end
    local pos = firstZero(pageKey(F, kind, page), b, PAGE)
    if pos and pos < limit then
      -- a page the cursor enters joins the page set (saved with the cursor, even if this request
      -- then fails); the page it was on is there already
      if p ~= F[pk] then F.pgs[page] = true end
      F[pk] = p; F[bk] = floor(pos / 8)
      return page, pos
    end
    p = p + 1
    b = 0
  end
  F[pk] = F.pages; F[bk] = 0
  return nil
end

-- overlays: what this batch decided so far, read before Redis
local recs = {}
for i = 1, n do
  if recList[i] then recs[owners[i]] = recList[i] end
end
local taken = {}
-- writes collected for the end (explicit lengths: # is a search in Lua 5.1)
local hs, idx, hsN, idxN = {}, {}, 0, 0
-- MACs (inline): every holder's current MAC and the dynamic cursor in one read
local macOf, macTaken, macHs, macN, macNext = {}, {}, {}, 0, nil
local holders, hfields = {}, {'#next'}
if inline then
  for i = 1, n do
    local h = subnet .. '/' .. owners[i]
    holders[i] = h; hfields[i + 1] = 'h:' .. h
  end
  local m = redis.call('HMGET', MAP, unpack(hfields))
  macNext = tonumber(m[1] or '0')
  for i = 1, n do
    if m[i + 1] then macOf[holders[i]] = m[i + 1] end
  end
end
local HD = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'}
local macPrefix = {}
local function macText(b)
  local v = b + 1
  local hi = floor(v / 256)
  local p = macPrefix[hi]
  if not p then p = string.format('00:00:00:%02X:%02X:', floor(hi / 256), hi % 256); macPrefix[hi] = p end
  local lo = v % 256
  return p .. HD[floor(lo / 16) + 1] .. HD[lo % 16 + 1]
end
-- a dynamic MAC, claimed here: the last check of a request (cursor order, as macPlan)
local function macClaim()
  for _ = 1, 64 do
    local b = macNext % MAC_BITS
    macNext = (b + 1) % MAC_BITS
    if direct then
      if redis.call('SETBIT', MU, b, 1) == 0 then return macText(b) end
    else
      local byte = floor(b / 8)
      local ch = chunkOf(MU, floor(byte / CHUNK))
      local j, m = byte % CHUNK + 1, MASK[b % 8 + 1]
      if band(ch.b[j], m) == 0 then setIn(ch, j, m); return macText(b) end
    end
  end
  local b = firstZero(MU, 0, MAC_BITS)
  if not b then return nil end
  setBit(MU, b)
  macNext = (b + 1) % MAC_BITS
  return macText(b)
end

local plan = {}
local function one(i, owner, fix4, fix6, macArg)
  local rec = recs[owner]
  if rec then
    local held, mac = splitRecord(rec)
    if fix4 ~= '' and fix4 ~= held['4'] then return 'EImmutableField|v4|' .. held['4'] end
    if fix6 ~= '' and fix6 ~= held['6'] then return 'EImmutableField|v6|' .. held['6'] end
    if inline and macArg ~= '' and macArg ~= mac then return 'EImmutableField|mac|' .. mac end
    return '=' .. rec
  end
  for _, f in ipairs(FAMS) do
    local F = fam[f]
    local fixed = fix4
    if f == '6' then fixed = fix6 end
    local pl = plan[f]
    pl.page = nil
    if F then
      if fixed ~= '' then
        if fixed == F.gw then return 'EAddressConflict|v' .. f .. '|gateway' end
        local holder = taken[f .. '@' .. fixed] or redis.call('HGET', S, f .. '@' .. fixed)
        if holder then return 'EAddressConflict|v' .. f .. '|' .. holder end
        local p, b = string.match(fixed, '^(%d+):(%d+)$')
        pl.pos = fixed; pl.page = p; pl.b = tonumber(b); pl.fixed = true
      else
        local page, b = nextFree(F, 'e', 'ep', 'eb')
        if not page then page, b = nextFree(F, 'u', 'up', 'ub') end
        if not page then return 'ESubnetFull|v' .. f .. '|' end
        pl.pos = page .. ':' .. b; pl.page = page; pl.b = b; pl.fixed = false
      end
    elseif fixed ~= '' then
      return 'EAddressOutOfRange|v' .. f .. '|'
    end
  end
  local mac = macArg
  if inline then
    local holder = holders[i]
    local cur = macOf[holder]
    if cur then
      if macArg ~= '' and macArg ~= cur then return 'EImmutableField|mac|' .. cur end
      mac = cur
    elseif macArg ~= '' then
      local h = macTaken[macArg] or redis.call('HGET', MAP, 'm:' .. macArg)
      if h then return 'EMACConflict|mac|' .. h end
      local b = macBit(macArg)
      if b then setBit(MU, b) end
    else
      mac = macClaim()
      if not mac then return 'ESubnetFull|mac|' end
    end
    if not cur then
      macOf[holder] = mac; macTaken[mac] = holder
      macHs[macN + 1] = 'm:' .. mac; macHs[macN + 2] = holder
      macHs[macN + 3] = hfields[i + 1]; macHs[macN + 4] = mac
      macN = macN + 4
    end
  end
  -- every check passed: write
  local v4, v6 = '', ''
  for _, f in ipairs(FAMS) do
    local pl = plan[f]
    if pl.page then
      local F = fam[f]
      if direct then
        redis.call('SETBIT', pageKey(F, 'u', pl.page), pl.b, 1)
        redis.call('SETBIT', pageKey(F, 'e', pl.page), pl.b, 1)
      else
        local byte = floor(pl.b / 8)
        local c, j, m = floor(byte / CHUNK), byte % CHUNK + 1, MASK[pl.b % 8 + 1]
        setIn(chunkOf(pageKey(F, 'u', pl.page), c), j, m)
        setIn(chunkOf(pageKey(F, 'e', pl.page), c), j, m)
      end
      if pl.fixed then
        F.pgs[pl.page] = true
        if redis.call('GETBIT', pageKey(F, 'x', pl.page), pl.b) == 1 then F.ox = F.ox + 1 end
      end
      local a2o = f .. '@' .. pl.pos
      taken[a2o] = owner
      hs[hsN + 1] = a2o; hs[hsN + 2] = owner; hsN = hsN + 2
      F.n = F.n + 1
      if f == '4' then v4 = pl.pos else v6 = pl.pos end
    end
  end
  rec = v4 .. '|' .. v6 .. '|' .. mac
  recs[owner] = rec
  hs[hsN + 1] = fields[i]; hs[hsN + 2] = rec; hsN = hsN + 2
  idx[idxN + 1] = '0'; idx[idxN + 2] = owner; idxN = idxN + 2
  return rec
end
plan['4'] = {}; plan['6'] = {}
local replies = {'OK'}
for i = 1, n do replies[i + 1] = one(i, owners[i], fx4[i], fx6[i], macs[i]) end

-- shared writes: changed bitmap bytes, counters, cursors, page sets, records, owner index, MACs
for _, ch in ipairs(dirty) do
  redis.call('SETRANGE', ch.key, ch.c * CHUNK + ch.lo - 1, string.char(unpack(ch.b, ch.lo, ch.hi)))
end
for f, F in pairs(fam) do
  local c = F.cur
  if c[1] ~= F.ep or c[2] ~= F.eb then
    hs[#hs + 1] = f .. ':ep'; hs[#hs + 1] = fmt(F.ep); hs[#hs + 1] = f .. ':eb'; hs[#hs + 1] = F.eb
  end
  if c[3] ~= F.up or c[4] ~= F.ub then
    hs[#hs + 1] = f .. ':up'; hs[#hs + 1] = fmt(F.up); hs[#hs + 1] = f .. ':ub'; hs[#hs + 1] = F.ub
  end
  if c[5] ~= F.n then hs[#hs + 1] = f .. ':n'; hs[#hs + 1] = F.n end
  if c[6] ~= F.ox then hs[#hs + 1] = f .. ':ox'; hs[#hs + 1] = F.ox end
  local pages = {}
  for page in pairs(F.pgs) do pages[#pages + 1] = page end
  if #pages > 0 then redis.call('SADD', T .. f .. ':pg', unpack(pages)) end
end
if #hs > 0 then redis.call('HSET', S, unpack(hs)) end
if #idx > 0 then redis.call('ZADD', T .. 'idx', unpack(idx)) end
if #macHs > 0 then
  macHs[#macHs + 1] = '#next'; macHs[#macHs + 1] = macNext
  redis.call('HSET', MAP, unpack(macHs))
end
return replies
`;

/**
 * release. KEYS as allocate (1, or 2 to release the MAC as well). ARGV: 1 owner, 2 holder,
 * 3 guard: 'unmanaged' refuses (reply {-1, ''}, nothing changed) when the subnet is marked
 * mgr=kubernetes (a manual force-delete releasing every owner must stop the moment Kubernetes
 * takes the subnet over); '' releases whatever the mark.
 * Reply: {released 0|1, mac or ''} | {-1, ''}.
 */
export const RELEASE = `${COMMON}${SUBNET_LIB}${MAC_LIB}
local owner = ARGV[1]
if ARGV[3] == 'unmanaged' and redis.call('HGET', S, 'mgr') == 'kubernetes' then return {-1, ''} end
local gen, fam, extra = readState('o:' .. owner)
local rec = extra[1]
local mac = ''
if gen and rec then
  local held
  held, mac = splitRecord(rec)
  local hs, hd = {}, {'o:' .. owner}
  for _, f in ipairs({'4', '6'}) do
    local pos = held[f]
    local F = fam[f]
    if pos ~= '' and F then
      local p, b = parsePos(pos)
      local page = fmt(p)
      if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then
        hs[#hs + 1] = f .. ':ox'; hs[#hs + 1] = F.ox - 1
      else
        redis.call('SETBIT', T .. f .. ':u:' .. page, b, 0)
        local nb = math.floor(b / 8)
        if p < F.up or (p == F.up and nb < F.ub) then
          hs[#hs + 1] = f .. ':up'; hs[#hs + 1] = page
          hs[#hs + 1] = f .. ':ub'; hs[#hs + 1] = nb
        end
      end
      hd[#hd + 1] = f .. '@' .. pos
      hs[#hs + 1] = f .. ':n'; hs[#hs + 1] = F.n - 1
    end
  end
  redis.call('HDEL', S, unpack(hd))
  if #hs > 0 then redis.call('HSET', S, unpack(hs)) end
  redis.call('ZREM', T .. 'idx', owner)
end
if #KEYS > 1 then
  local m = macRelease(ARGV[2])
  if m and mac == '' then mac = m end
end
if rec then return {1, mac} end
return {0, mac}
`;

/** macReserve (Cluster mode). KEYS: {ipam-mac}:map. ARGV: holder, fixed MAC or ''.
 *  Reply {'OK', created 0|1, mac} or {'ERR', ...}. */
export const MAC_RESERVE = `${COMMON}${MAC_LIB}
local mac, plan = macPlan(ARGV[1], ARGV[2])
if not mac then return plan end
if plan then macApply(ARGV[1], plan); return {'OK', 1, mac} end
return {'OK', 0, mac}
`;

/** macRelease (Cluster mode). KEYS: {ipam-mac}:map. ARGV: holder. Reply: the MAC released or false. */
export const MAC_RELEASE = `${COMMON}${MAC_LIB}
return macRelease(ARGV[1])
`;

/**
 * registerSubnet. KEYS: 1 T state. ARGV: 1 spec JSON (canonical), 2 cidrBlock, 3 old spec JSON
 * the caller saw ('' if none), 4 manager ('kubernetes' or 'manual'), then per family of the new
 * plan a block: f, pages, last, gateway position, first-usable position, network-reserved (0|1),
 * nNew, nNew triples (page, fromBit, toBit) of excluded bits (excludeIps + gateway), nOld, nOld
 * triples of the old excluded bits.
 * A subnet marked mgr=kubernetes is refused to any other manager ({'ERR', 'ManagedByKubernetes'})
 * before anything else, so the mark and the check are one atomic step with the registration.
 * 'kubernetes' takes over a manual registration (marks it); a change of mark alone bumps gen.
 * Reply: {'OK', gen, changed 0|1} | {'STALE'} | {'ERR', reason, field, detail}.
 */
export const REGISTER = `${COMMON}
local S = KEYS[1]
local T = string.sub(S, 1, -6)
local mgr = ARGV[4]
local cur = redis.call('HMGET', S, 'gen', 'spec', 'cidr', 'mgr')
if cur[4] == 'kubernetes' and mgr ~= 'kubernetes' then return {'ERR', 'ManagedByKubernetes', 'subnet', 'kubernetes'} end
-- The generation names this version of the spec and mark; callers cache both by it. It carries
-- the server time so that a subnet deleted and created again never reuses an old generation.
local function nextGen()
  local n = tonumber(string.match(cur[1] or '', '-(%d+)$') or '0') + 1
  local now = redis.call('TIME')
  return now[1] .. string.format('%06d', tonumber(now[2])) .. '-' .. n
end
if cur[1] and cur[2] == ARGV[1] then
  if mgr == 'kubernetes' and cur[4] ~= 'kubernetes' then
    local gen = nextGen()
    redis.call('HSET', S, 'gen', gen, 'mgr', mgr)
    return {'OK', gen, 1}
  end
  return {'OK', cur[1], 0}
end
if (cur[2] or '') ~= ARGV[3] then return {'STALE'} end
local gen = nextGen()
local resetAll = (not cur[1]) or cur[3] ~= ARGV[2]
if cur[1] and resetAll then
  local n = redis.call('ZCARD', T .. 'idx')
  if n > 0 then return {'ERR', 'InvalidSubnet', 'cidrBlock', tostring(n)} end
end
local blocks = {}
local i = 5
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
if not resetAll then
  for _, blk in ipairs(blocks) do
    local holder = redis.call('HGET', S, blk.f .. '@' .. blk.gw)
    if holder then return {'ERR', 'AddressConflict', 'gateway', holder} end
  end
end
local owned = {['4'] = {}, ['6'] = {}}
if resetAll then
  for _, f in ipairs({'4', '6'}) do
    for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
      redis.call('DEL', T .. f .. ':u:' .. page, T .. f .. ':e:' .. page, T .. f .. ':x:' .. page)
    end
    redis.call('DEL', T .. f .. ':pg')
  end
  redis.call('DEL', S, T .. 'idx')
else
  for _, k in ipairs(redis.call('HKEYS', S)) do
    local f, pos = string.match(k, '^([46])@(.+)$')
    if f then owned[f][#owned[f] + 1] = pos end
  end
end
for _, blk in ipairs(blocks) do
  local f = blk.f
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
    redis.call('SETBIT', T .. f .. ':u:0', 0, 1)
    redis.call('SETBIT', T .. f .. ':e:0', 0, 1)
  end
  -- owned addresses stay set; recount those inside excludeIps
  local ox = 0
  for _, pos in ipairs(owned[f]) do
    local p, b = parsePos(pos)
    local page = fmt(p)
    redis.call('SETBIT', T .. f .. ':u:' .. page, b, 1)
    redis.call('SETBIT', T .. f .. ':e:' .. page, b, 1)
    if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then ox = ox + 1 end
  end
  local fp, fb = parsePos(blk.first)
  redis.call('SADD', T .. f .. ':pg', fmt(fp))
  redis.call('HSET', S, f .. ':pages', fmt(blk.pages), f .. ':last', blk.last, f .. ':gw', blk.gw,
    f .. ':ep', fmt(fp), f .. ':eb', math.floor(fb / 8), f .. ':up', fmt(fp), f .. ':ub', math.floor(fb / 8),
    f .. ':ox', ox, f .. ':n', #owned[f])
end
redis.call('HSET', S, 'gen', gen, 'spec', ARGV[1], 'cidr', ARGV[2])
if mgr == 'kubernetes' then redis.call('HSET', S, 'mgr', mgr) end
return {'OK', gen, 1}
`;

/** deleteSubnet. KEYS: 1 T state. ARGV: 1 manager ('kubernetes' or 'manual').
 *  Reply {'OK', existed 0|1} | {'ERR', 'InvalidSubnet', 'reservations', n} |
 *  {'ERR', 'ManagedByKubernetes', 'subnet', 'kubernetes'} (a manual delete of a Kubernetes subnet). */
export const DELETE_SUBNET = `
local S = KEYS[1]
local T = string.sub(S, 1, -6)
if redis.call('EXISTS', S) == 0 then return {'OK', 0} end
if redis.call('HGET', S, 'mgr') == 'kubernetes' and ARGV[1] ~= 'kubernetes' then
  return {'ERR', 'ManagedByKubernetes', 'subnet', 'kubernetes'}
end
local n = redis.call('ZCARD', T .. 'idx')
if n > 0 then return {'ERR', 'InvalidSubnet', 'reservations', tostring(n)} end
for _, f in ipairs({'4', '6'}) do
  for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
    redis.call('DEL', T .. f .. ':u:' .. page, T .. f .. ':e:' .. page, T .. f .. ':x:' .. page)
  end
  redis.call('DEL', T .. f .. ':pg')
end
redis.call('DEL', S, T .. 'idx')
return {'OK', 1}
`;

/** list. KEYS: 1 T state. ARGV: 1 exclusive start owner ('' = from the start), 2 limit.
 *  Reply: {gen or false, owner1, record1, ...} (limit+1 owners at most). */
export const LIST = `
local S = KEYS[1]
local T = string.sub(S, 1, -6)
local gen = redis.call('HGET', S, 'gen')
if not gen then return {false} end
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
local owners = redis.call('ZRANGEBYLEX', T .. 'idx', from, '+', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
local out = {gen}
if #owners == 0 then return out end
local fields = {}
for i, o in ipairs(owners) do fields[i] = 'o:' .. o end
local recs = redis.call('HMGET', S, unpack(fields))
for i, o in ipairs(owners) do
  out[#out + 1] = o
  out[#out + 1] = recs[i] or ''
end
return out
`;

/** get. KEYS: 1 T state. ARGV: owner. Reply: {gen or false, record or false}. */
export const GET = `
local m = redis.call('HMGET', KEYS[1], 'gen', 'o:' .. ARGV[1])
return {m[1], m[2]}
`;

/** counts. KEYS: 1 T state. Reply: {gen, ox4, ox6, {v4 positions}, {v6 positions}}. */
export const COUNTS = `
local m = redis.call('HMGET', KEYS[1], 'gen', '4:ox', '6:ox')
if not m[1] then return {false} end
local pos = {['4'] = {}, ['6'] = {}}
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  local f, p = string.match(k, '^([46])@(.+)$')
  if f then pos[f][#pos[f] + 1] = p end
end
return {m[1], m[2] or '0', m[3] or '0', pos['4'], pos['6']}
`;

/** dump (for audit): one consistent snapshot. KEYS: 1 T state.
 *  Reply: {gen, state flat, idx owners, then per family {page, u, e, x, ...}}. */
export const DUMP = `
local S = KEYS[1]
local T = string.sub(S, 1, -6)
if redis.call('EXISTS', S) == 0 then return {false} end
local out = {redis.call('HGET', S, 'gen'), redis.call('HGETALL', S), redis.call('ZRANGE', T .. 'idx', 0, -1)}
for _, f in ipairs({'4', '6'}) do
  local pages = {}
  for _, page in ipairs(redis.call('SMEMBERS', T .. f .. ':pg')) do
    pages[#pages + 1] = page
    pages[#pages + 1] = redis.call('GET', T .. f .. ':u:' .. page) or ''
    pages[#pages + 1] = redis.call('GET', T .. f .. ':e:' .. page) or ''
    pages[#pages + 1] = redis.call('GET', T .. f .. ':x:' .. page) or ''
  end
  out[#out + 1] = pages
end
return out
`;

/**
 * replace: one owner's addresses (and MAC) swapped for others in one step, so a repair never
 * leaves the owner without an address, not even if the caller dies half-way (release-then-allocate
 * from the caller could). Everything is checked before the first write; a refusal changes nothing.
 * KEYS: 1 T state; 2 {ipam-mac}:map when the MAC is changed by this script too (one Redis; on
 * Cluster the caller has moved the holder's MAC with MAC_SWAP first and passes the new MAC).
 * ARGV: 1 gen, 2 owner, 3 MAC holder ("<subnet>/<owner>"), 4 v4 plan, 5 v6 plan, 6 MAC ('' keeps
 * the held one). A plan is '' (keep what is held), '*' (a free address other than the held one,
 * lowest never-used first, as allocate picks), or a fixed position "<page>:<bit>".
 * Reply: {'OK', new record} | {'STALE'} | {'NOSUBNET'} | {'ERR', reason, field, holder-or-held}
 *   (reasons: ReservationNotFound, AddressOutOfRange, AddressConflict, SubnetFull, MACConflict).
 */
export const REPLACE = `${COMMON}${SUBNET_LIB}${MAC_LIB}
local owner, holder = ARGV[2], ARGV[3]
local gen, fam, extra = readState('o:' .. owner)
if not gen then return {'NOSUBNET'} end
if gen ~= ARGV[1] then return {'STALE'} end
local rec = extra[1]
if not rec then return {'ERR', 'ReservationNotFound', 'owner', owner} end
local held, mac = splitRecord(rec)
local want = {['4'] = ARGV[4], ['6'] = ARGV[5]}
local newMac = ARGV[6]
if newMac == '' then newMac = mac end
local pgs = {}
-- the lowest clear bit of a family's ever ('e') or used ('u') bitmaps from its cursor (which
-- moves with it: the bits before it are set)
local function nextFree(F, kind, pk, bk)
  local p, b = F[pk], F[bk]
  while p < F.pages do
    local limit = PAGE
    if p == F.pages - 1 then limit = F.last end
    local pos = clearBit(T .. F.f .. ':' .. kind .. ':' .. fmt(p), b)
    if pos < limit then
      F[pk] = p; F[bk] = math.floor(pos / 8)
      return fmt(p) .. ':' .. pos
    end
    p = p + 1
    b = 0
  end
  F[pk] = F.pages; F[bk] = 0
  return nil
end
-- checks (and the choice of dynamic addresses, while the held ones are still taken)
local target = {}
for _, f in ipairs({'4', '6'}) do
  local F, w = fam[f], want[f]
  if w == '' then
    target[f] = held[f]
  elseif not F then
    return {'ERR', 'AddressOutOfRange', 'v' .. f, ''}
  elseif w == '*' then
    local pos = nextFree(F, 'e', 'ep', 'eb') or nextFree(F, 'u', 'up', 'ub')
    if not pos then return {'ERR', 'SubnetFull', 'v' .. f, ''} end
    target[f] = pos
  else
    if w == F.gw then return {'ERR', 'AddressConflict', 'v' .. f, 'gateway'} end
    local h = redis.call('HGET', S, f .. '@' .. w)
    if h and h ~= owner then return {'ERR', 'AddressConflict', 'v' .. f, h} end
    target[f] = w
  end
end
if #KEYS > 1 and newMac ~= mac then
  local h = redis.call('HGET', MAP, 'm:' .. newMac)
  if h and h ~= holder then return {'ERR', 'MACConflict', 'mac', h} end
end
-- writes
local hs, hd = {}, {}
for _, f in ipairs({'4', '6'}) do
  local F, old, new = fam[f], held[f], target[f]
  if F and old ~= new then
    if old ~= '' then
      local p, b = parsePos(old)
      local page = fmt(p)
      if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then
        F.ox = F.ox - 1
      else
        redis.call('SETBIT', T .. f .. ':u:' .. page, b, 0)
        local nb = math.floor(b / 8)
        if p < F.up or (p == F.up and nb < F.ub) then F.up = p; F.ub = nb end
      end
      hd[#hd + 1] = f .. '@' .. old
      F.n = F.n - 1
    end
    local p, b = parsePos(new)
    local page = fmt(p)
    redis.call('SETBIT', T .. f .. ':u:' .. page, b, 1)
    redis.call('SETBIT', T .. f .. ':e:' .. page, b, 1)
    redis.call('SADD', T .. f .. ':pg', page)
    if redis.call('GETBIT', T .. f .. ':x:' .. page, b) == 1 then F.ox = F.ox + 1 end
    hs[#hs + 1] = f .. '@' .. new; hs[#hs + 1] = owner
    F.n = F.n + 1
  end
  if F then
    for _, k in ipairs({'n', 'ox', 'eb', 'ub'}) do hs[#hs + 1] = f .. ':' .. k; hs[#hs + 1] = F[k] end
    hs[#hs + 1] = f .. ':ep'; hs[#hs + 1] = fmt(F.ep)
    hs[#hs + 1] = f .. ':up'; hs[#hs + 1] = fmt(F.up)
  end
end
if #KEYS > 1 and newMac ~= mac then
  macRelease(holder)
  macApply(holder, {mac = newMac, bit = macBit(newMac)})
end
local out = target['4'] .. '|' .. target['6'] .. '|' .. newMac
hs[#hs + 1] = 'o:' .. owner; hs[#hs + 1] = out
if #hd > 0 then redis.call('HDEL', S, unpack(hd)) end
redis.call('HSET', S, unpack(hs))
return {'OK', out}
`;

/** macSwap (Cluster mode, before REPLACE). KEYS: {ipam-mac}:map. ARGV: holder, new MAC.
 *  Reply {'OK', previous MAC or ''} or {'ERR', 'MACConflict', 'mac', holder}. */
export const MAC_SWAP = `${COMMON}${MAC_LIB}
local holder, mac = ARGV[1], ARGV[2]
local h = redis.call('HGET', MAP, 'm:' .. mac)
if h == holder then return {'OK', mac} end
if h then return {'ERR', 'MACConflict', 'mac', h} end
local prev = macRelease(holder) or ''
macApply(holder, {mac = mac, bit = macBit(mac)})
return {'OK', prev}
`;
