// Loads the Lua scripts into an ioredis client (defineCommand: EVALSHA, falling back to EVAL once
// per connection when the server lacks the script, e.g. after a restart). Nothing else talks to Redis.
import type { Cluster, Redis } from 'ioredis';
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
  /** KEYS: state [, MAC map] — the "WithMac" variants also reserve/release the MAC. */
  allocate(...args: Arg[]): Promise<Reply>;
  allocateWithMac(...args: Arg[]): Promise<Reply>;
  release(...args: Arg[]): Promise<Reply>;
  releaseWithMac(...args: Arg[]): Promise<Reply>;
  macReserve(...args: Arg[]): Promise<Reply>;
  macRelease(...args: Arg[]): Promise<Reply>;
  macSwap(...args: Arg[]): Promise<Reply>;
  /** KEYS: state [, MAC map]: one owner's addresses (and MAC) swapped in one step. */
  replace(...args: Arg[]): Promise<Reply>;
  replaceWithMac(...args: Arg[]): Promise<Reply>;
  register(...args: Arg[]): Promise<Reply>;
  deleteSubnet(...args: Arg[]): Promise<Reply>;
  get(...args: Arg[]): Promise<Reply>;
  list(...args: Arg[]): Promise<Reply>;
  counts(...args: Arg[]): Promise<Reply>;
  /** Binary-safe reply (bitmaps as Buffers). */
  dump(...args: Arg[]): Promise<Reply>;
}

const DEFS: Record<string, { lua: string; numberOfKeys: number }> = {
  ipamAllocate: { lua: ALLOCATE, numberOfKeys: 1 },
  ipamAllocateWithMac: { lua: ALLOCATE, numberOfKeys: 2 },
  ipamRelease: { lua: RELEASE, numberOfKeys: 1 },
  ipamReleaseWithMac: { lua: RELEASE, numberOfKeys: 2 },
  ipamMacReserve: { lua: MAC_RESERVE, numberOfKeys: 1 },
  ipamMacRelease: { lua: MAC_RELEASE, numberOfKeys: 1 },
  ipamMacSwap: { lua: MAC_SWAP, numberOfKeys: 1 },
  ipamReplace: { lua: REPLACE, numberOfKeys: 1 },
  ipamReplaceWithMac: { lua: REPLACE, numberOfKeys: 2 },
  ipamRegister: { lua: REGISTER, numberOfKeys: 1 },
  ipamDeleteSubnet: { lua: DELETE_SUBNET, numberOfKeys: 1 },
  ipamGet: { lua: GET, numberOfKeys: 1 },
  ipamList: { lua: LIST, numberOfKeys: 1 },
  ipamCounts: { lua: COUNTS, numberOfKeys: 1 },
  ipamDump: { lua: DUMP, numberOfKeys: 1 },
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
    counts: bind('ipamCounts'),
    dump: bind('ipamDumpBuffer'),
  };
}

/** The state hash of a subnet; every other key of the subnet shares its {ipam:<subnet>} tag. */
export const stateKey = (subnet: string) => `{ipam:${subnet}}:state`;

/** The cluster-wide MAC registry, under its own hash tag. */
export const MAC_MAP = '{ipam-mac}:map';
