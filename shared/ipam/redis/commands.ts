// Loads the Lua scripts into an ioredis client (defineCommand: EVALSHA, falling back to EVAL once
// per connection when the server lacks the script, e.g. after a restart). Nothing else talks to Redis.
import type { Cluster, Redis } from 'ioredis';
import { SUBNET_KEY_COUNT as SK } from './keys.ts';
import {
  ALLOCATE,
  COUNTS,
  DELETE_SUBNET,
  DUMP,
  GET,
  LIST,
  MAC_RELEASE,
  MAC_RESERVE,
  MAC_SWAP,
  REGISTER,
  RELEASE,
  REPLACE,
} from './scripts/index.ts';

type Arg = string | number;
type Reply = unknown;

export interface IpamCommands {
  /** KEYS: the subnet's (keys.ts subnetKeys) [, MAC_KEYS] — the "WithMac" variants also reserve/release the MAC. */
  allocate(...args: Arg[]): Promise<Reply>;
  allocateWithMac(...args: Arg[]): Promise<Reply>;
  release(...args: Arg[]): Promise<Reply>;
  releaseWithMac(...args: Arg[]): Promise<Reply>;
  macReserve(...args: Arg[]): Promise<Reply>;
  macRelease(...args: Arg[]): Promise<Reply>;
  macSwap(...args: Arg[]): Promise<Reply>;
  /** KEYS: the subnet's [, MAC_KEYS]: one owner's addresses (and MAC) swapped in one step. */
  replace(...args: Arg[]): Promise<Reply>;
  replaceWithMac(...args: Arg[]): Promise<Reply>;
  register(...args: Arg[]): Promise<Reply>;
  deleteSubnet(...args: Arg[]): Promise<Reply>;
  get(...args: Arg[]): Promise<Reply>;
  list(...args: Arg[]): Promise<Reply>;
  /** Binary-safe reply (bitmaps as Buffers). */
  counts(...args: Arg[]): Promise<Reply>;
  /** Binary-safe reply (bitmaps as Buffers). */
  dump(...args: Arg[]): Promise<Reply>;
}

// numberOfKeys: a subnet script gets the subnet's keys (SK), a MAC script MAC_KEYS (2), both: SK + 2.
const DEFS: Record<string, { lua: string; numberOfKeys: number }> = {
  ipamAllocate: { lua: ALLOCATE, numberOfKeys: SK },
  ipamAllocateWithMac: { lua: ALLOCATE, numberOfKeys: SK + 2 },
  ipamRelease: { lua: RELEASE, numberOfKeys: SK },
  ipamReleaseWithMac: { lua: RELEASE, numberOfKeys: SK + 2 },
  ipamMacReserve: { lua: MAC_RESERVE, numberOfKeys: 2 },
  ipamMacRelease: { lua: MAC_RELEASE, numberOfKeys: 2 },
  ipamMacSwap: { lua: MAC_SWAP, numberOfKeys: 2 },
  ipamReplace: { lua: REPLACE, numberOfKeys: SK },
  ipamReplaceWithMac: { lua: REPLACE, numberOfKeys: SK + 2 },
  ipamRegister: { lua: REGISTER, numberOfKeys: SK },
  ipamDeleteSubnet: { lua: DELETE_SUBNET, numberOfKeys: SK },
  ipamGet: { lua: GET, numberOfKeys: SK },
  ipamList: { lua: LIST, numberOfKeys: SK },
  ipamCounts: { lua: COUNTS, numberOfKeys: SK },
  ipamDump: { lua: DUMP, numberOfKeys: SK },
};

export function loadCommands(redis: Redis | Cluster): IpamCommands {
  const client = redis as unknown as Record<string, (...a: Arg[]) => Promise<Reply>>;
  for (const [name, def] of Object.entries(DEFS)) {
    if (typeof client[name] !== 'function') redis.defineCommand(name, def);
  }
  const bind = (name: string) => (client[name] as (...x: Arg[]) => Promise<Reply>).bind(redis);
  return {
    allocate: bind('ipamAllocate'),
    allocateWithMac: bind('ipamAllocateWithMac'),
    release: bind('ipamRelease'),
    releaseWithMac: bind('ipamReleaseWithMac'),
    macReserve: bind('ipamMacReserve'),
    macRelease: bind('ipamMacRelease'),
    macSwap: bind('ipamMacSwap'),
    replace: bind('ipamReplace'),
    replaceWithMac: bind('ipamReplaceWithMac'),
    register: bind('ipamRegister'),
    deleteSubnet: bind('ipamDeleteSubnet'),
    get: bind('ipamGet'),
    list: bind('ipamList'),
    counts: bind('ipamCountsBuffer'),
    dump: bind('ipamDumpBuffer'),
  };
}
