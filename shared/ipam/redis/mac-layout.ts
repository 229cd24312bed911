// The MAC registry's layout gate on one Redis, read and switched by the operator (`npm run audit --
// --mac-layout=...`). The scripts decide by the registry's '#h' mark (allocate.ts macRead):
//   v1: no mark, a registry older versions wrote. h:<holder> is written beside m:<MAC> as they do,
//       so an older replica releasing an owner this version allocated frees its MAC.
//   v2: '0' or '1'. m:<MAC> only (the owner's record carries the MAC; '1': h:<holder> entries may
//       exist, and are read). A registry this version creates starts here.
// Switching to v2 is safe only once no older replica runs: theirs would leak released MACs.
import type { Cluster, Redis } from 'ioredis';
import { MAC_MAP } from './keys.ts';

export type MacLayout = 'v1' | 'v2';

/** The layout a '#h' mark means (null: no mark). */
export const macLayoutOf = (mark: string | null): MacLayout => (mark === null ? 'v1' : 'v2');

export async function readMacLayout(redis: Redis | Cluster): Promise<MacLayout> {
  return macLayoutOf(await redis.hget(MAC_MAP, '#h'));
}

/**
 * Switches the registry to v2: sets the mark '1' only where there is none (HSETNX: one atomic step,
 * so a concurrent allocation sees either layout whole, and a '0' is never turned into a needless
 * h:<holder> read). Idempotent. Answers the layout before and after.
 */
export async function switchMacLayout(
  redis: Redis | Cluster,
): Promise<{ before: MacLayout; after: MacLayout }> {
  const set = await redis.hsetnx(MAC_MAP, '#h', '1');
  return { before: set === 1 ? 'v1' : 'v2', after: 'v2' };
}
