// What every part of the Redis allocator shares: the connection, the loaded scripts, whether MACs
// take the two-step Cluster protocol, and the process's only state, a cache of parsed subnet specs
// validated by the spec generation each script checks (a stale cache gets {'STALE'} and is
// reloaded with loadSubnet(ctx, name, true)).
import type { Cluster, Redis } from 'ioredis';
import type { SubnetManager } from '../allocator.ts';
import { type SubnetRange, subnetRange } from '../subnet-range.ts';
import { notFound } from './allocator-errors.ts';
import type { IpamCommands } from './commands.ts';
import { stateKey } from './keys.ts';

export interface AllocatorContext {
  readonly redis: Redis | Cluster;
  readonly cmd: IpamCommands;
  /** Parsed specs by subnet name, each with the generation it was read at. */
  readonly cache: Map<string, CachedSubnet>;
  /** The two-step MAC protocol: the MAC keys live in another slot (Cluster, or forced by tests). */
  readonly splitMac: boolean;
}

export interface CachedSubnet {
  readonly gen: string;
  readonly range: SubnetRange;
  readonly managedBy: SubnetManager;
}

export type Reply = (string | number | null | Reply[])[];

export const MAX_RETRIES = 3;

export async function loadSubnet(
  ctx: AllocatorContext,
  name: string,
  fresh = false,
): Promise<CachedSubnet | undefined> {
  const cached = ctx.cache.get(name);
  if (cached && !fresh) return cached;
  const [gen, json, mgr] = await ctx.redis.hmget(stateKey(name), 'gen', 'spec', 'mgr');
  if (!gen || !json) {
    ctx.cache.delete(name);
    return undefined;
  }
  const s: CachedSubnet = {
    gen,
    range: rangeFromJson(name, json),
    managedBy: mgr === 'kubernetes' ? 'kubernetes' : 'manual',
  };
  ctx.cache.set(name, s);
  return s;
}

export async function requireSubnet(
  ctx: AllocatorContext,
  name: string,
  fresh = false,
): Promise<CachedSubnet> {
  const s = await loadSubnet(ctx, name, fresh);
  if (!s) throw notFound(name);
  return s;
}

export function rangeFromJson(name: string, json: string): SubnetRange {
  const spec = JSON.parse(json) as { cidrBlock: string; gateway: string; excludeIps: string[] };
  return subnetRange({ name, ...spec });
}
