// Subnets in the Redis allocator: register (or change) a spec, read it, list the registered ones,
// delete one (forced: releasing every owner first). Each change is one Lua script guarded by the
// spec generation; a successful registration refreshes the process's cache.
import type { Cluster, Redis } from 'ioredis';
import { DomainError, Reason } from '../../domain/errors.ts';
import type { DeleteSubnetOptions, RegisterOptions, SubnetInfo, SubnetManager } from '../allocator.ts';
import { ConcurrentChangeError } from '../allocator.ts';
import { excludedRanges, pageBitsOf, pageShape, positionOf } from '../positions.ts';
import { familyOf, type SubnetRange, type SubnetSpec, subnetRange } from '../subnet-range.ts';
import {
  type AllocatorContext,
  loadSubnet,
  MAX_RETRIES,
  type Reply,
  rangeFromJson,
} from './allocator-context.ts';
import { managedByKubernetes } from './allocator-errors.ts';
import { stateKey, subnetKeys } from './keys.ts';
import { list } from './reservation-reads.ts';
import { releaseOne } from './reservation-writes.ts';

export async function registerSubnet(
  ctx: AllocatorContext,
  spec: SubnetSpec,
  opts: RegisterOptions = {},
): Promise<SubnetInfo> {
  const range = subnetRange(spec);
  const key = stateKey(range.name);
  const json = specJson(range);
  const manager: SubnetManager = opts.managedBy ?? 'manual';
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const oldJson = (await ctx.redis.hget(key, 'spec')) ?? '';
    const old = oldJson ? rangeFromJson(range.name, oldJson) : undefined;
    const args: (string | number)[] = [...subnetKeys(range.name), json, range.cidrBlock, oldJson, manager];
    for (const fr of range.families) {
      const shape = pageShape(fr);
      const oldFr = old && old.cidrBlock === range.cidrBlock ? familyOf(old, fr.family) : undefined;
      const bits = pageBitsOf(fr, excludedRanges(fr));
      const oldBits = oldFr ? pageBitsOf(oldFr, excludedRanges(oldFr)) : [];
      args.push(
        String(fr.family),
        shape.pages.toString(),
        shape.lastPageBits,
        positionOf(fr, fr.gateway),
        positionOf(fr, fr.firstUsable),
        fr.firstUsable > fr.cidr.network ? '1' : '0',
        bits.length,
        ...bits.flatMap((b) => [b.page.toString(), b.fromBit, b.toBit]),
        oldBits.length,
        ...oldBits.flatMap((b) => [b.page.toString(), b.fromBit, b.toBit]),
      );
    }
    const reply = (await ctx.cmd.register(...args)) as Reply;
    if (reply[0] === 'STALE') continue;
    if (reply[0] === 'ERR') {
      const [, reason, field, detail] = reply as string[];
      if (reason === 'ManagedByKubernetes') throw managedByKubernetes(range.name);
      if (reason === 'AddressConflict') {
        throw new DomainError(
          Reason.AddressConflict,
          `the new gateway of subnet ${range.name} is held by ${detail}; release it or pick another gateway`,
          { holder: String(detail), field: 'gateway' },
        );
      }
      throw new DomainError(
        Reason.SubnetInUse,
        `subnet ${range.name} holds ${detail} reservations, so its cidrBlock cannot change; release them first`,
        { field: String(field) },
      );
    }
    // The mark is never removed by a registration: what the script kept is kubernetes if either was.
    const managedBy: SubnetManager =
      manager === 'kubernetes' || (await ctx.redis.hget(key, 'mgr')) === 'kubernetes'
        ? 'kubernetes'
        : 'manual';
    ctx.cache.set(range.name, { gen: String(reply[1]), range, managedBy });
    return infoOf(range, managedBy);
  }
  throw new ConcurrentChangeError(`subnet ${range.name} kept changing while registering it; try again`);
}

export async function getSubnet(
  ctx: AllocatorContext,
  name: string,
  opts: { fresh?: boolean } = {},
): Promise<SubnetInfo | undefined> {
  const s = await loadSubnet(ctx, name, opts.fresh === true);
  return s ? infoOf(s.range, s.managedBy) : undefined;
}

export async function listSubnets(ctx: AllocatorContext): Promise<string[]> {
  const cluster = (ctx.redis as { isCluster?: boolean }).isCluster
    ? (ctx.redis as Cluster).nodes('master')
    : [ctx.redis as Redis];
  const names = new Set<string>();
  for (const node of cluster) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', '{ipam:*}:state', 'COUNT', 1000);
      for (const k of keys) names.add(k.slice('{ipam:'.length, -'}:state'.length));
      cursor = next;
    } while (cursor !== '0');
  }
  return [...names].sort();
}

export async function deleteSubnet(
  ctx: AllocatorContext,
  name: string,
  opts: DeleteSubnetOptions = {},
): Promise<boolean> {
  const manager: SubnetManager = opts.managedBy ?? 'manual';
  for (let attempt = 0; attempt < 100; attempt++) {
    const reply = (await ctx.cmd.deleteSubnet(...subnetKeys(name), manager)) as Reply;
    if (reply[0] === 'OK') {
      ctx.cache.delete(name);
      return reply[1] === 1;
    }
    if (reply[1] === 'ManagedByKubernetes') throw managedByKubernetes(name);
    if (!opts.force) {
      throw new DomainError(
        Reason.SubnetInUse,
        `subnet ${name} still has ${reply[3]} reservations; release them first or delete with force`,
        { reservations: String(reply[3]) },
      );
    }
    // forced: release every owner (each MAC too), then try again
    let cursor: string | undefined;
    do {
      const page = await list(ctx, name, { cursor, limit: 1000 });
      for (const r of page.items) {
        // A manual force-delete stops the moment the subnet is Kubernetes' (checked per release,
        // in the script, so a takeover half-way through cannot cost a Vip or pod its address).
        if (!(await releaseOne(ctx, name, r.owner, manager === 'kubernetes' ? '' : 'unmanaged')))
          throw managedByKubernetes(name);
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  throw new Error(`subnet ${name} kept getting new reservations while being deleted`);
}

function specJson(range: SubnetRange): string {
  return JSON.stringify({ cidrBlock: range.cidrBlock, gateway: range.gateway, excludeIps: range.excludeIps });
}

const infoOf = (r: SubnetRange, managedBy: SubnetManager): SubnetInfo => ({
  name: r.name,
  cidrBlock: r.cidrBlock,
  gateway: r.gateway,
  excludeIps: r.excludeIps,
  protocol: r.protocol,
  managedBy,
});
