// Loads the Lua scripts into an ioredis client (defineCommand: EVALSHA, falling back to EVAL once
// per connection when the script cache is empty, e.g. after a restart). Nothing else talks to Redis.
import type { Cluster, Redis } from 'ioredis';
import {
  ALLOCATE,
  COUNTS,
  DELETE_SUBNET,
  DUMP,
  LIST,
  MAC_RELEASE,
  MAC_RESERVE,
  REGISTER,
  RELEASE,
} from './scripts.ts';

type Arg = string | number;
type Reply = unknown;

export interface IpamCommands {
  /** numkeys first, then keys, then args (the key count varies with the MAC mode). */
  allocate(numKeys: number, ...args: Arg[]): Promise<Reply>;
  release(numKeys: number, ...args: Arg[]): Promise<Reply>;
  macReserve(...args: Arg[]): Promise<Reply>;
  macRelease(...args: Arg[]): Promise<Reply>;
  register(...args: Arg[]): Promise<Reply>;
  deleteSubnet(...args: Arg[]): Promise<Reply>;
  list(...args: Arg[]): Promise<Reply>;
  counts(...args: Arg[]): Promise<Reply>;
  /** Binary-safe reply (bitmaps as Buffers). */
  dump(...args: Arg[]): Promise<Reply>;
}

const DEFS: Record<string, { lua: string; numberOfKeys?: number }> = {
  ipamAllocate: { lua: ALLOCATE },
  ipamRelease: { lua: RELEASE },
  ipamMacReserve: { lua: MAC_RESERVE, numberOfKeys: 5 },
  ipamMacRelease: { lua: MAC_RELEASE, numberOfKeys: 5 },
  ipamRegister: { lua: REGISTER, numberOfKeys: 5 },
  ipamDeleteSubnet: { lua: DELETE_SUBNET, numberOfKeys: 3 },
  ipamList: { lua: LIST, numberOfKeys: 3 },
  ipamCounts: { lua: COUNTS, numberOfKeys: 3 },
  ipamDump: { lua: DUMP, numberOfKeys: 2 },
};

export function loadCommands(redis: Redis | Cluster): IpamCommands {
  const client = redis as unknown as Record<string, (...a: Arg[]) => Promise<Reply>>;
  for (const [name, def] of Object.entries(DEFS)) {
    if (typeof client[name] !== 'function') redis.defineCommand(name, def);
  }
  const call =
    (name: string) =>
    (...a: Arg[]) =>
      (client[name] as (...x: Arg[]) => Promise<Reply>).apply(redis, a);
  return {
    allocate: call('ipamAllocate'),
    release: call('ipamRelease'),
    macReserve: call('ipamMacReserve'),
    macRelease: call('ipamMacRelease'),
    register: call('ipamRegister'),
    deleteSubnet: call('ipamDeleteSubnet'),
    list: call('ipamList'),
    counts: call('ipamCounts'),
    dump: call('ipamDumpBuffer'),
  };
}

/** Keys of one subnet: all share the hash tag {ipam:<subnet>}. */
export function subnetKeys(subnet: string) {
  const t = `{ipam:${subnet}}:`;
  return {
    prefix: t,
    meta: `${t}meta`,
    res: `${t}res`,
    idx: `${t}idx`,
    a2o4: `${t}4:a2o`,
    a2o6: `${t}6:a2o`,
  };
}

/** Cluster-wide MAC keys, under their own hash tag. */
export const MAC_KEYS = [
  '{ipam-mac}:meta',
  '{ipam-mac}:m2h',
  '{ipam-mac}:h2m',
  '{ipam-mac}:u',
  '{ipam-mac}:e',
] as const;
