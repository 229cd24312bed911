// registerSubnet and deleteSubnet: a subnet's range, its excluded bits and its manager.
import { SUBNET_KEYS_LUA } from '../keys.ts';
import { COMMON } from './lib.ts';

/**
 * registerSubnet. KEYS: the subnet's. ARGV: 1 spec JSON (canonical), 2 cidrBlock, 3 old spec JSON
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
${SUBNET_KEYS_LUA}local mgr = ARGV[4]
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
  local n = redis.call('ZCARD', IDX)
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
    for _, page in ipairs(redis.call('SMEMBERS', PG[f])) do
      redis.call('DEL', bitmapKey(f, 'u', page), bitmapKey(f, 'e', page), bitmapKey(f, 'x', page))
    end
    redis.call('DEL', PG[f])
  end
  redis.call('DEL', S, IDX)
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
      setRange(bitmapKey(f, 'x', page), r[2], r[3], 0)
      setRange(bitmapKey(f, 'u', page), r[2], r[3], 0)
      setRange(bitmapKey(f, 'e', page), r[2], r[3], 0)
    end
  end
  for _, r in ipairs(blk.new) do
    local page = fmt(r[1])
    redis.call('SADD', PG[f], page)
    setRange(bitmapKey(f, 'x', page), r[2], r[3], 1)
    setRange(bitmapKey(f, 'u', page), r[2], r[3], 1)
    setRange(bitmapKey(f, 'e', page), r[2], r[3], 1)
  end
  if blk.netReserved then
    redis.call('SETBIT', bitmapKey(f, 'u', '0'), 0, 1)
    redis.call('SETBIT', bitmapKey(f, 'e', '0'), 0, 1)
  end
  -- owned addresses stay set; recount those inside excludeIps
  local ox = 0
  for _, pos in ipairs(owned[f]) do
    local p, b = parsePos(pos)
    local page = fmt(p)
    redis.call('SETBIT', bitmapKey(f, 'u', page), b, 1)
    redis.call('SETBIT', bitmapKey(f, 'e', page), b, 1)
    if redis.call('GETBIT', bitmapKey(f, 'x', page), b) == 1 then ox = ox + 1 end
  end
  local fp, fb = parsePos(blk.first)
  redis.call('SADD', PG[f], fmt(fp))
  redis.call('HSET', S, f .. ':pages', fmt(blk.pages), f .. ':last', blk.last, f .. ':gw', blk.gw,
    f .. ':ep', fmt(fp), f .. ':eb', math.floor(fb / 8), f .. ':up', fmt(fp), f .. ':ub', math.floor(fb / 8),
    f .. ':ox', ox, f .. ':n', #owned[f])
end
redis.call('HSET', S, 'gen', gen, 'spec', ARGV[1], 'cidr', ARGV[2])
if mgr == 'kubernetes' then redis.call('HSET', S, 'mgr', mgr) end
return {'OK', gen, 1}
`;

/** deleteSubnet. KEYS: the subnet's. ARGV: 1 manager ('kubernetes' or 'manual').
 *  Reply {'OK', existed 0|1} | {'ERR', 'InvalidSubnet', 'reservations', n} |
 *  {'ERR', 'ManagedByKubernetes', 'subnet', 'kubernetes'} (a manual delete of a Kubernetes subnet). */
export const DELETE_SUBNET = `
${SUBNET_KEYS_LUA}if redis.call('EXISTS', S) == 0 then return {'OK', 0} end
if redis.call('HGET', S, 'mgr') == 'kubernetes' and ARGV[1] ~= 'kubernetes' then
  return {'ERR', 'ManagedByKubernetes', 'subnet', 'kubernetes'}
end
local n = redis.call('ZCARD', IDX)
if n > 0 then return {'ERR', 'InvalidSubnet', 'reservations', tostring(n)} end
for _, f in ipairs({'4', '6'}) do
  for _, page in ipairs(redis.call('SMEMBERS', PG[f])) do
    redis.call('DEL', bitmapKey(f, 'u', page), bitmapKey(f, 'e', page), bitmapKey(f, 'x', page))
  end
  redis.call('DEL', PG[f])
end
redis.call('DEL', S, IDX)
return {'OK', 1}
`;
