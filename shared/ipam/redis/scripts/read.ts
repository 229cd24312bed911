// The read-only scripts: list, get, counts, and the audit's dump.
import { SUBNET_KEYS_LUA } from '../keys.ts';

/** list. KEYS: the subnet's. ARGV: 1 exclusive start owner ('' = from the start), 2 limit.
 *  Reply: {gen or false, owner1, record1, ...} (limit+1 owners at most). */
export const LIST = `
${SUBNET_KEYS_LUA}local gen = redis.call('HGET', S, 'gen')
if not gen then return {false} end
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
local owners = redis.call('ZRANGEBYLEX', IDX, from, '+', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
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

/** get. KEYS: the subnet's. ARGV: owner. Reply: {gen or false, record or false}. */
export const GET = `
local m = redis.call('HMGET', KEYS[1], 'gen', 'o:' .. ARGV[1])
return {m[1], m[2]}
`;

/** counts. KEYS: the subnet's. Reply: {gen, ox4, ox6, {v4 positions}, {v6 positions}}. */
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

/** dump (for audit): one consistent snapshot. KEYS: the subnet's.
 *  Reply: {gen, state flat, idx owners, then per family {page, u, e, x, ...}}. */
export const DUMP = `
${SUBNET_KEYS_LUA}if redis.call('EXISTS', S) == 0 then return {false} end
local out = {redis.call('HGET', S, 'gen'), redis.call('HGETALL', S), redis.call('ZRANGE', IDX, 0, -1)}
for _, f in ipairs({'4', '6'}) do
  local pages = {}
  for _, page in ipairs(redis.call('SMEMBERS', PG[f])) do
    pages[#pages + 1] = page
    pages[#pages + 1] = redis.call('GET', bitmapKey(f, 'u', page)) or ''
    pages[#pages + 1] = redis.call('GET', bitmapKey(f, 'e', page)) or ''
    pages[#pages + 1] = redis.call('GET', bitmapKey(f, 'x', page)) or ''
  end
  out[#out + 1] = pages
end
return out
`;
