// The MAC registry's layout gate on one Redis, read and switched by the operator (`npm run audit --
// --mac-layout=...`). The scripts decide by the registry's '#h' and '#m' marks (allocate.ts macRead):
//   v1: no '#h' mark, a registry older versions wrote. h:<holder> is written beside m:<MAC> as they
//       do, so an older replica releasing an owner this version allocated frees its MAC.
//   v2: '#h' '0' or '1', no '#m'. m:<MAC> only for every MAC (the owner's record carries the MAC;
//       '1': h:<holder> entries may exist, and are read).
//   v3: '#m' '1' (with v2's rules for h:<holder>). A MAC claimed from the dynamic space is kept by
//       its bit in {ipam-mac}:u and the owner's record only, no m:<MAC>; a fixed MAC (asked for by
//       the caller) still gets m:<MAC>. A registry this version creates starts here.
// Each switch is forward only and safe only once no older replica runs: a v1 replica would leak
// released MACs of v2 owners, and a v1/v2 replica does not see a v3 dynamic MAC as taken (it
// looks for m:<MAC>) and would release none.
import type { Cluster, Redis } from 'ioredis';
import { MAC_MAP } from './keys.ts';

export type MacLayout = 'v1' | 'v2' | 'v3';

/** The layout the '#h' and '#m' marks mean (null: no mark). */
export const macLayoutOf = (h: string | null, m: string | null = null): MacLayout =>
  m === '1' ? 'v3' : h === null ? 'v1' : 'v2';

export async function readMacLayout(redis: Redis | Cluster): Promise<MacLayout> {
  const [h, m] = await redis.hmget(MAC_MAP, '#h', '#m');
  return macLayoutOf(h ?? null, m ?? null);
}

// One script: the marks read and set in one atomic step, so a concurrent allocation sees either
// layout whole. '#h' becomes '1' only where there is none (a '0' is never turned into a needless
// h:<holder> read); v3 also sets '#m'. Never backwards: a v3 registry asked for v2 stays v3.
// Reply: the marks before.
const SWITCH = `
local m = redis.call('HMGET', KEYS[1], '#h', '#m')
if not m[1] then redis.call('HSET', KEYS[1], '#h', '1') end
if ARGV[1] == 'v3' and m[2] ~= '1' then redis.call('HSET', KEYS[1], '#m', '1') end
return {m[1] or '', m[2] or ''}
`;

/**
 * Switches the registry forward to `to` (v2 by default). Idempotent; a registry already past `to`
 * stays as it is. Answers the layout before and after.
 */
export async function switchMacLayout(
  redis: Redis | Cluster,
  to: 'v2' | 'v3' = 'v2',
): Promise<{ before: MacLayout; after: MacLayout }> {
  const [h, m] = (await redis.eval(SWITCH, 1, MAC_MAP, to)) as [string, string];
  const before = macLayoutOf(h === '' ? null : h, m === '' ? null : m);
  return { before, after: before === 'v3' ? 'v3' : to };
}
