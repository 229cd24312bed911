// replace: one owner's addresses (and MAC) swapped in one step (the audit's repair).
import { macKeysLua, SUBNET_KEY_COUNT } from '../keys.ts';
import { COMMON, MAC_LIB, SUBNET_LIB } from './lib.ts';

/**
 * replace: one owner's addresses (and MAC) swapped for others in one step, so a repair never
 * leaves the owner without an address, not even if the caller dies half-way (release-then-allocate
 * from the caller could). Everything is checked before the first write; a refusal changes nothing.
 * KEYS: the subnet's, then MAC_KEYS when the MAC is changed by this script too (one Redis; on
 * Cluster the caller has moved the holder's MAC with MAC_SWAP first and passes the new MAC).
 * ARGV: 1 gen, 2 owner, 3 MAC holder ("<subnet>/<owner>"), 4 v4 plan, 5 v6 plan, 6 MAC ('' keeps
 * the held one). A plan is '' (keep what is held), '*' (a free address other than the held one,
 * lowest never-used first, as allocate picks), or a fixed position "<page>:<bit>".
 * Reply: {'OK', new record} | {'STALE'} | {'NOSUBNET'} | {'ERR', reason, field, holder-or-held}
 *   (reasons: ReservationNotFound, AddressOutOfRange, AddressConflict, SubnetFull, MACConflict).
 */
export const REPLACE = `${COMMON}${SUBNET_LIB}${macKeysLua(SUBNET_KEY_COUNT + 1)}${MAC_LIB}
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
    local pos = clearBit(bitmapKey(F.f, kind, fmt(p)), b)
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
if #KEYS > ${SUBNET_KEY_COUNT} and newMac ~= mac then
  local h = redis.call('HGET', MAP, 'm:' .. newMac)
  if h and h ~= holder then return {'ERR', 'MACConflict', 'mac', h} end
  if not h and macBitTaken(newMac) then return {'ERR', 'MACConflict', 'mac', ''} end
end
-- writes
local hs, hd = {}, {}
for _, f in ipairs({'4', '6'}) do
  local F, old, new = fam[f], held[f], target[f]
  if F and old ~= new then
    if old ~= '' then
      local p, b = parsePos(old)
      local page = fmt(p)
      if redis.call('GETBIT', bitmapKey(f, 'x', page), b) == 1 then
        F.ox = F.ox - 1
      else
        redis.call('SETBIT', bitmapKey(f, 'u', page), b, 0)
        local nb = math.floor(b / 8)
        if p < F.up or (p == F.up and nb < F.ub) then F.up = p; F.ub = nb end
      end
      hd[#hd + 1] = f .. '@' .. old
      F.n = F.n - 1
    end
    local p, b = parsePos(new)
    local page = fmt(p)
    redis.call('SETBIT', bitmapKey(f, 'u', page), b, 1)
    redis.call('SETBIT', bitmapKey(f, 'e', page), b, 1)
    redis.call('SADD', PG[f], page)
    if redis.call('GETBIT', bitmapKey(f, 'x', page), b) == 1 then F.ox = F.ox + 1 end
    hs[#hs + 1] = f .. '@' .. new; hs[#hs + 1] = owner
    F.n = F.n + 1
  end
  if F then
    for _, k in ipairs({'n', 'ox', 'eb', 'ub'}) do hs[#hs + 1] = f .. ':' .. k; hs[#hs + 1] = F[k] end
    hs[#hs + 1] = f .. ':ep'; hs[#hs + 1] = fmt(F.ep)
    hs[#hs + 1] = f .. ':up'; hs[#hs + 1] = fmt(F.up)
  end
end
if #KEYS > ${SUBNET_KEY_COUNT} and newMac ~= mac then
  -- the layout gate (allocate's macRead): no '#h' mark is the old layout, h:<holder> written too
  local oldLayout = not redis.call('HGET', MAP, '#h')
  macRelease(holder, mac)
  macApply(holder, {mac = newMac, bit = macBit(newMac)}, oldLayout)
end
local out = target['4'] .. '|' .. target['6'] .. '|' .. newMac
hs[#hs + 1] = 'o:' .. owner; hs[#hs + 1] = out
if #hd > 0 then redis.call('HDEL', S, unpack(hd)) end
redis.call('HSET', S, unpack(hs))
return {'OK', out}
`;
