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

/** counts. KEYS: the subnet's. ARGV: per family (1: IPv4, 2: IPv6) what to read when owned
 *  addresses sit inside excludeIps (`<f>:ox` > 0), whose bits the bitmaps cannot tell from excluded
 *  ones: '-' the caller's spec has no such family; '*' every owned position (HKEYS, the old way);
 *  otherwise the excluded bits to probe, 'page:from:to' comma-separated.
 *  Reply: {gen, ox4, ox6, family 4, family 6}, each family {pages, owned}: pages flat as
 *  page, used, excluded, ... (missing keys ''; none in '*' mode), owned the positions found
 *  ('*': all owned positions; otherwise the owned excluded ones). Cost: O(pages) without
 *  owned excluded addresses, not O(reservations). */
export const COUNTS = `
${SUBNET_KEYS_LUA}local m = redis.call('HMGET', S, 'gen', '4:ox', '6:ox')
if not m[1] then return {false} end
local out = {m[1], m[2] or '0', m[3] or '0'}
local all = nil
for i, f in ipairs({'4', '6'}) do
  local mode, ox = ARGV[i], tonumber(m[i + 1] or '0')
  local pages, owned = {}, {}
  if mode == '*' and ox > 0 then
    if not all then
      all = {['4'] = {}, ['6'] = {}}
      for _, k in ipairs(redis.call('HKEYS', S)) do
        local kf, p = string.match(k, '^([46])@(.+)$')
        if kf then all[kf][#all[kf] + 1] = p end
      end
    end
    owned = all[f]
  elseif mode ~= '-' then
    for _, page in ipairs(redis.call('SMEMBERS', PG[f])) do
      pages[#pages + 1] = page
      pages[#pages + 1] = redis.call('GET', bitmapKey(f, 'u', page)) or ''
      pages[#pages + 1] = redis.call('GET', bitmapKey(f, 'x', page)) or ''
    end
    if ox > 0 and mode ~= '*' and mode ~= '' then
      local fields = {}
      local function probe()
        if #fields == 0 then return end
        local held = redis.call('HMGET', S, unpack(fields))
        for j = 1, #fields do
          if held[j] then owned[#owned + 1] = string.sub(fields[j], 3) end
        end
        fields = {}
      end
      for page, from, to in string.gmatch(mode, '([^:,]+):(%d+):(%d+)') do
        for b = tonumber(from), tonumber(to) do
          fields[#fields + 1] = f .. '@' .. page .. ':' .. b
          if #fields == 1000 then probe() end
        end
      end
      probe()
    end
  end
  out[#out + 1] = {pages, owned}
end
return out
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
