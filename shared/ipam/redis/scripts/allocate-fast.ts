// allocate's fast path: the common batch on one Redis (every request dynamic, no MAC given),
// decided in far fewer Lua steps than the general code in allocate.ts, which it is spliced into
// (it reads that script's locals: owners, recList, fam, subnet, macRead, the bitmap helpers).

/**
 * The common batch on one Redis: every request dynamic with no MAC given ('o' only). Decided as
 * the general code below would decide it, request by request, in far fewer Lua steps: the k new
 * owners take the next k clear bits of each family's ever-used bitmap from its cursor (scanned
 * once, in windows of WIN bytes), or of its used bitmap once the ever-used one is full (only
 * released addresses are left), and the next free MACs from the MAC cursor. It only reads until
 * every request is decided; when it cannot decide the whole batch this way (the ever-used bitmap
 * runs out in the middle of the batch, the used one runs out, a crowded MAC stretch, the MAC space
 * wrapping) it returns nil having written nothing, and the general code decides the batch.
 */
export const FAST = `
local function fast()
  local band, bor, floor, byte, WIN = bit.band, bit.bor, math.floor, string.byte, 64
  local MASK = {128, 64, 32, 16, 8, 4, 2, 1}
  local HD = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'}
  -- new owners: the first request of an owner without a record; the others answer '=' record
  local newAt, nNew, firstOf = {}, 0, {}
  for i = 1, n do
    local o = owners[i]
    if not recList[i] and not firstOf[o] then
      firstOf[o] = i; nNew = nNew + 1; newAt[nNew] = i
    end
  end
  local replies = {'OK'}
  if nNew == 0 then
    for i = 1, n do replies[i + 1] = '=' .. recList[i] end
    return replies
  end
  -- per family: nNew positions from the ever-used cursor, or from the used one once every address
  -- has been used (the released ones are left); nothing is written before all are found
  local picks = {}
  for f, F in pairs(fam) do
    local pos, wins, k = {}, {}, 0
    local kind, p, b = 'e', F.ep, F.eb
    if p >= F.pages then kind, p, b = 'u', F.up, F.ub end
    local from = p
    local lastP, lastB, pgs
    while k < nNew do
      if p >= F.pages then return nil end
      local limit = PAGE
      if p == F.pages - 1 then limit = F.last end
      local page = fmt(p)
      local key = bitmapKey(f, kind, page)
      local at = redis.call('BITPOS', key, 0, b)
      if at < b * 8 then at = b * 8 end
      if at >= limit then
        p = p + 1; b = 0
      else
        b = floor(at / 8)
        -- one window: old bytes as read, new ones where this batch sets bits
        local s = redis.call('GETRANGE', key, b, b + WIN - 1)
        local old, new, lo, hi = {}, {}, nil, 0
        local prefix = page .. ':'
        local j, full = 1, false
        while j <= WIN and k < nNew and not full do
          local v = byte(s, j) or 0
          old[j] = v
          if v ~= 255 then
            local nv, m, base = v, 128, (b + j - 1) * 8
            for i = 0, 7 do
              if band(nv, m) == 0 then
                if base + i >= limit then full = true; break end
                nv = bor(nv, m); k = k + 1
                pos[k] = posText(prefix, base + i)
                if k == nNew then break end
              end
              m = m / 2
            end
            if nv ~= v then
              new[j] = nv
              if not lo then lo = j end
              hi = j; lastP = p; lastB = b + j - 1
            end
          end
          j = j + 1
        end
        if lo then
          wins[#wins + 1] = {page = page, b = b, lo = lo, hi = hi, old = old, new = new}
          -- a page the cursor enters joins the page set (the one it starts on is there already)
          if p ~= from then pgs = pgs or {}; pgs[#pgs + 1] = page end
        end
        if k < nNew then
          if full then p = p + 1; b = 0 else b = b + WIN end
        end
      end
    end
    picks[f] = {kind = kind, pos = pos, wins = wins, p = lastP, b = lastB, pgs = pgs}
  end
  -- MACs: a holder's own (left over by the Cluster protocol) or the next free one from the
  -- cursor, at most 64 tries each, as macClaim takes them
  local holders = {}
  for j = 1, nNew do holders[j] = subnet .. '/' .. owners[newAt[j]] end
  local macNext, held, fresh, oldLayout, v3 = macRead(holders)
  local macs, claimed, macWins, prefixes, anyClaimed = {}, {}, {}, {}, false
  do
    local at = macNext % MAC_BITS
    local w
    for j = 1, nNew do
      local cur = held[j]
      if cur then
        macs[j] = cur
      else
        local tries = 0
        while true do
          if at >= MAC_BITS or tries >= 64 then return nil end
          local by = floor(at / 8)
          if not w or by >= w.b + WIN then
            w = {b = by, s = redis.call('GETRANGE', MU, by, by + WIN - 1), new = {}}
            macWins[#macWins + 1] = w
          end
          local jj = by - w.b + 1
          local v = w.new[jj] or byte(w.s, jj) or 0
          local mask = MASK[at % 8 + 1]
          tries = tries + 1
          at = at + 1
          if band(v, mask) == 0 then
            w.new[jj] = bor(v, mask)
            if not w.lo then w.lo = jj end
            w.hi = jj
            -- MAC value at (bit at-1 is MAC at): as macText
            local hi, lo = floor(at / 256), at % 256
            local px = prefixes[hi]
            if not px then
              px = string.format('00:00:00:%02X:%02X:', floor(hi / 256), hi % 256); prefixes[hi] = px
            end
            macs[j] = px .. HD[floor(lo / 16) + 1] .. HD[lo % 16 + 1]
            claimed[j] = true
            break
          end
        end
      end
    end
    macNext = at % MAC_BITS
  end
  -- every request decided: write
  -- replies of new owners go straight in; dup: some request is not a new owner's
  local hs, hsN, idx, macHs, macN, recOf, dup = {}, 0, {}, {}, 0, {}, nNew < n
  local p4, p6 = picks['4'], picks['6']
  for j = 1, nNew do
    local i = newAt[j]
    local owner = owners[i]
    local v4, v6 = '', ''
    if p4 then v4 = p4.pos[j]; hs[hsN + 1] = '4@' .. v4; hs[hsN + 2] = owner; hsN = hsN + 2 end
    if p6 then v6 = p6.pos[j]; hs[hsN + 1] = '6@' .. v6; hs[hsN + 2] = owner; hsN = hsN + 2 end
    local mac = macs[j]
    local rec = v4 .. '|' .. v6 .. '|' .. mac
    replies[i + 1] = rec
    if dup then recOf[owner] = rec end
    hs[hsN + 1] = fields[i]; hs[hsN + 2] = rec; hsN = hsN + 2
    idx[2 * j - 1] = '0'; idx[2 * j] = owner
    if claimed[j] then
      anyClaimed = true
      -- v3: the bit and the record are the MAC's copies; v1/v2 register m:<MAC> as older replicas read it
      if not v3 then
        macHs[macN + 1] = 'm:' .. mac; macHs[macN + 2] = holders[j]
        macN = macN + 2
        if oldLayout then macHs[macN + 1] = 'h:' .. holders[j]; macHs[macN + 2] = mac; macN = macN + 2 end
      end
    end
  end
  -- the others (an owner with a record, or one already new in this batch): '=' and the record
  if dup then
    for i = 1, n do
      if not replies[i + 1] then replies[i + 1] = '=' .. (recList[i] or recOf[owners[i]]) end
    end
  end
  for f, pk in pairs(picks) do
    for _, w in ipairs(pk.wins) do
      local sb = {}
      for j = w.lo, w.hi do sb[j - w.lo + 1] = w.new[j] or w.old[j] end
      local at = w.b + w.lo - 1
      redis.call('SETRANGE', bitmapKey(f, pk.kind, w.page), at, string.char(unpack(sb)))
      if pk.kind == 'e' then
        -- the same bits set in the used bitmap (a subset of ever-used: a clear e bit is a clear u bit);
        -- from the used bitmap the ever-used bits are set already
        local us = redis.call('GETRANGE', bitmapKey(f, 'u', w.page), at, w.b + w.hi - 1)
        local ub = {}
        for j = w.lo, w.hi do ub[j - w.lo + 1] = bor(byte(us, j - w.lo + 1) or 0, sb[j - w.lo + 1] - w.old[j]) end
        redis.call('SETRANGE', bitmapKey(f, 'u', w.page), at, string.char(unpack(ub)))
      end
    end
    local F = fam[f]
    hs[hsN + 1] = f .. ':n'; hs[hsN + 2] = F.n + nNew
    hs[hsN + 3] = f .. ':' .. pk.kind .. 'p'; hs[hsN + 4] = fmt(pk.p)
    hs[hsN + 5] = f .. ':' .. pk.kind .. 'b'; hs[hsN + 6] = pk.b
    hsN = hsN + 6
    if pk.pgs then redis.call('SADD', PG[f], unpack(pk.pgs)) end
  end
  for _, w in ipairs(macWins) do
    if w.lo then
      local out = {}
      for j = w.lo, w.hi do out[j - w.lo + 1] = w.new[j] or byte(w.s, j) or 0 end
      redis.call('SETRANGE', MU, w.b + w.lo - 1, string.char(unpack(out)))
    end
  end
  redis.call('HSET', S, unpack(hs))
  redis.call('ZADD', IDX, unpack(idx))
  if anyClaimed then
    macHs[macN + 1] = '#next'; macHs[macN + 2] = macNext
    if fresh then macHs[macN + 3] = '#h'; macHs[macN + 4] = '0'; macHs[macN + 5] = '#m'; macHs[macN + 6] = '1' end
    redis.call('HSET', MAP, unpack(macHs))
  end
  return replies
end
`;
