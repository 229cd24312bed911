// allocate: a batch of requests of one subnet, each decided as if it ran alone (SPEC §2).
import { macKeysLua, SUBNET_KEY_COUNT } from '../keys.ts';
import { FAST } from './allocate-fast.ts';
import { COMMON, MAC_LIB, POS_TEXT, SUBNET_LIB } from './lib.ts';

/**
 * allocate, for a batch of requests of one subnet (micro-batching: the allocator sends the
 * requests of one tick as one call). Each request is decided on its own, in order, exactly as if
 * it ran alone after the ones before it: its own idempotency, its own checks before its own
 * writes, so a refused request leaves no trace and does not affect the others.
 * What makes a batch cheap: the state read (one HMGET for every owner), the hash/index writes (one
 * HSET, one ZADD) and the bitmaps are shared. Bitmaps are read in chunks of CHUNK bytes (GETRANGE,
 * BITPOS to jump over full stretches), changed in Lua, and written back once (SETRANGE of the
 * changed bytes), so an allocation costs no redis.call() of its own.
 * KEYS: the subnet's (keys.ts subnetKeys), then MAC_KEYS when the MAC is reserved by this script too
 * (one Redis, not Cluster). ARGV: 1 gen, 2 shape: one letter per request, then the requests' arguments: 'o' is
 * one (owner: dynamic addresses, no MAC given), 'f' is four (owner, fixed v4 position or '',
 * fixed v6 position or '', MAC: with MAC_KEYS the fixed MAC or '', else the MAC already reserved
 * for this owner).
 * The MAC holder is "<subnet>/<owner>". With MAC_KEYS a new owner's MAC is registered as m:<MAC> ->
 * holder only: its record carries the MAC, so h:<holder> would be a second copy (one hash field
 * per allocation); an existing h:<holder> (older versions, the Cluster protocol) is still read first.
 * In layout v3 (the '#m' mark) a MAC claimed from the dynamic space gets no m:<MAC> either (its
 * bit and the record are its copies); a fixed MAC always does. A registry older versions wrote keeps
 * getting h:<holder> and m:<MAC> until the operator switches its layout (the '#h' and '#m' marks,
 * see macRead; mac-layout.ts), so older replicas stay correct meanwhile.
 * Reply: {'STALE'} | {'NOSUBNET'} | {'OK', one string per request}, each the record
 *   v4pos '|' v6pos '|' mac (created), '=' and the record (held already), or
 *   'E' reason '|' field '|' holder-or-held (refused).
 */
export const ALLOCATE = `${COMMON}${POS_TEXT}${SUBNET_LIB}${macKeysLua(SUBNET_KEY_COUNT + 1)}${MAC_LIB}
local inline = #KEYS > ${SUBNET_KEY_COUNT}
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
      -- 'o': nothing fixed (nil reads as '' below; the fast path never reads them)
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
-- (inline) the MAC cursor, and the MACs the registry holds by h:<holder> for these holders
-- (a Cluster-protocol MAC reserved before its address script ran; older versions' h:<holder> of
-- owners with a record are never needed here). The '#h' mark is the layout gate:
--   absent (a registry older versions wrote, not switched yet): the old layout. Read h:<holder> and
--     write it beside m:<MAC> as older versions do, so an older replica's release (which frees the
--     MAC h:<holder> names) still frees it during a rolling update. oldLayout is true.
--   '1' (switched by the operator once every replica runs this version, or h:<holder> written
--     by the Cluster protocol): read h:<holder>, write m:<MAC> only.
--   '0' (a registry this version created, never given an h:<holder>): m:<MAC> only, no read.
-- fresh: no registry yet, so no older replica wrote it (the writes then set '#h' to '0' and '#m'
-- to '1').
-- The '#m' mark: '1' (v3, set by the operator's switch or on a fresh registry) keeps a MAC claimed
-- from the dynamic space by its bit and the owner's record only, no m:<MAC> (v3 is true). Absent:
-- every MAC gets m:<MAC>, since older replicas find a MAC's holder there only.
local function macRead(hs)
  local m = redis.call('HMGET', MAP, '#next', '#h', '#m')
  local fresh = not m[1] and not m[2] and not m[3] and redis.call('EXISTS', MAP) == 0
  local held = {}
  if m[2] ~= '0' and not fresh then
    local hf = {}
    for j = 1, #hs do hf[j] = 'h:' .. hs[j] end
    held = redis.call('HMGET', MAP, unpack(hf))
  end
  local v3 = fresh or m[3] == '1'
  return tonumber(m[1] or '0'), held, fresh, not m[2] and not fresh and not v3, v3
end
${FAST}if inline and n > 2 and not string.find(shape, 'f', 1, true) then
  local replies = fast()
  if replies then return replies end
end

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
  if not k then k = bitmapKey(F.f, kind, page); F.keys[kind][page] = k end
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
local holders, macFresh, macOld, macV3, macClaimed = {}, false, false, false, false
if inline then
  for i = 1, n do holders[i] = subnet .. '/' .. owners[i] end
  local held
  macNext, held, macFresh, macOld, macV3 = macRead(holders)
  for i = 1, n do
    if held[i] then macOf[holders[i]] = held[i] end
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
      -- set with no m:<MAC>: claimed dynamically (v3), its holder unknown here (the ones this
      -- batch claimed are in macTaken, so Redis's bit is the one to ask)
      if macBitTaken(macArg) then return 'EMACConflict|mac|' end
      if b then setBit(MU, b) end
    else
      mac = macClaim()
      if not mac then return 'ESubnetFull|mac|' end
      macClaimed = true
    end
    if not cur then
      macOf[holder] = mac; macTaken[mac] = holder
      -- a fixed MAC is always registered (its holder stays known); a dynamic one in v3 is kept by
      -- its bit and the record only
      if macArg ~= '' or not macV3 then
        macHs[macN + 1] = 'm:' .. mac; macHs[macN + 2] = holder
        macN = macN + 2
        if macOld then macHs[macN + 1] = 'h:' .. holder; macHs[macN + 2] = mac; macN = macN + 2 end
      end
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
for i = 1, n do replies[i + 1] = one(i, owners[i], fx4[i] or '', fx6[i] or '', macs[i] or '') end

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
  if #pages > 0 then redis.call('SADD', PG[f], unpack(pages)) end
end
if #hs > 0 then redis.call('HSET', S, unpack(hs)) end
if #idx > 0 then redis.call('ZADD', IDX, unpack(idx)) end
if macN > 0 or macClaimed then
  macHs[macN + 1] = '#next'; macHs[macN + 2] = macNext
  if macFresh then macHs[macN + 3] = '#h'; macHs[macN + 4] = '0'; macHs[macN + 5] = '#m'; macHs[macN + 6] = '1' end
  redis.call('HSET', MAP, unpack(macHs))
end
return replies
`;
