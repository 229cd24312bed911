// The Lua scripts: each allocator decision is one script, run atomically in one round trip
// (allocate takes a batch of requests of one subnet and decides them one by one). Scripts check
// everything before their first write, so a refusal leaves no trace (Redis does not roll back a
// script that fails half-way). Hot paths are shaped to make few redis.call()s: one HMGET reads
// every field a decision needs, one HSET writes them back.
//
// Key layout. A subnet's keys share the hash tag {ipam:<subnet>} (one Redis Cluster slot); T is the
// prefix "{ipam:<subnet>}:", f the family "4" or "6". The names are declared once in ../keys.ts: a
// subnet script gets T state, T idx, T 4:pg and T 6:pg as KEYS 1-4; the bitmap pages, found inside
// the script, are named by bitmapKey from the same tag (same slot, so Cluster accepts them).
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
// MACs are cluster-wide under their own tag: {ipam-mac}:map (hash: m:<MAC> -> holder, #next = the
// dynamic cursor, the layout marks #h and #m (../mac-layout.ts), and h:<holder> -> MAC where the
// Cluster protocol needs it: its MAC scripts run in another slot than the owner's record, so they
// write and read h:<holder>; on one Redis the record carries the MAC, an h:<holder> left by older
// versions is read, and removed when the MAC is released or replaced) and {ipam-mac}:u (bitmap of
// 00:00:00:XX:XX:XX in use; bit i is MAC value i+1, so 00:00:00:00:00:00 is never handed out). On
// one Redis in layout v3 (#m '1') a MAC claimed from the dynamic space is kept by its bit and the
// record only (no m:<MAC>); a fixed MAC always gets m:<MAC>. So a fixed MAC of the dynamic space
// whose bit is set is taken even without m:<MAC> (MACConflict, holder unknown). A holder is
// "<subnet>/<owner>". A script that changes them gets MAC_KEYS (map, bitmap) as its last two KEYS.
//
// Replies: {'OK', ...} | {'ERR', reason, field, holder-or-held} | {'STALE'} (the caller's spec
// generation is old: reload, retry) | {'NOSUBNET'}.
//
// One file per decision: allocate.ts (its fast path in allocate-fast.ts), release.ts, replace.ts, register.ts (and deleteSubnet),
// mac.ts (the registry on Cluster), read.ts (list, get, counts, dump); lib.ts holds the Lua they share.

export { ALLOCATE } from './allocate.ts';
export { MAC_RELEASE, MAC_RESERVE, MAC_SWAP } from './mac.ts';
export { COUNTS, DUMP, GET, LIST } from './read.ts';
export { DELETE_SUBNET, REGISTER } from './register.ts';
export { RELEASE } from './release.ts';
export { REPLACE } from './replace.ts';
