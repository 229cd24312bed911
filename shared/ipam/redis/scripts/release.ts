// release: an owner's addresses (and, on one Redis, its MAC) freed.
import { macKeysLua, SUBNET_KEY_COUNT } from '../keys.ts';
import { COMMON, MAC_LIB, SUBNET_LIB } from './lib.ts';

/**
 * release. KEYS as allocate (the subnet's, then MAC_KEYS to release the MAC as well). ARGV: 1 owner, 2 holder,
 * 3 guard: 'unmanaged' refuses (reply {-1, ''}, nothing changed) when the subnet is marked
 * mgr=kubernetes (a manual force-delete releasing every owner must stop the moment Kubernetes
 * takes the subnet over); '' releases whatever the mark.
 * Reply: {released 0|1, mac or ''} | {-1, ''}; mac: the record's (for MAC_RELEASE on Cluster), else
 * the one released.
 */
export const RELEASE = `${COMMON}${SUBNET_LIB}${macKeysLua(SUBNET_KEY_COUNT + 1)}${MAC_LIB}
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
      if redis.call('GETBIT', bitmapKey(f, 'x', page), b) == 1 then
        hs[#hs + 1] = f .. ':ox'; hs[#hs + 1] = F.ox - 1
      else
        redis.call('SETBIT', bitmapKey(f, 'u', page), b, 0)
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
  redis.call('ZREM', IDX, owner)
end
if #KEYS > ${SUBNET_KEY_COUNT} then
  local m = macRelease(ARGV[2], mac)
  if m and mac == '' then mac = m end
end
if rec then return {1, mac} end
return {0, mac}
`;
