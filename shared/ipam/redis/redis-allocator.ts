// The Allocator over Redis. Validation and address arithmetic happen in pure helpers; every
// decision is one Lua script. The process keeps only a cache of parsed subnet specs, validated by
// the spec generation each script checks (a stale cache gets {'STALE'} and is reloaded).
// Micro-batching: allocations of one subnet (and spec generation) that arrive in the same tick go
// to Redis as one allocate script call (./batcher.ts); the script decides each on its own.
// Address and MAC are reserved both or neither, also on Redis Cluster where the MAC keys live in
// another slot (how: ./reservation-writes.ts).
//
// This file builds the allocator and says where each part lives: the shared connection and spec
// cache (./allocator-context.ts), subnets (./subnet-registry.ts), allocate/release/replace with the
// micro-batching (./reservation-writes.ts), and get/list/counts/audit (./reservation-reads.ts).
import type { Cluster, Redis } from 'ioredis';
import type {
  AllocateRequest,
  Allocation,
  Allocator,
  DeleteSubnetOptions,
  ListOptions,
  RegisterOptions,
  ReplaceRequest,
  Reservation,
  ReservationPage,
  SubnetCounts,
  SubnetInfo,
  SubnetSpec,
  Violation,
} from '../allocator.ts';
import { Batcher } from './batcher.ts';
import { loadCommands } from './commands.ts';
import * as reads from './reservation-reads.ts';
import * as writes from './reservation-writes.ts';
import * as subnets from './subnet-registry.ts';

export interface RedisAllocatorOptions {
  /** Force the two-step MAC protocol even on a single Redis (tests use it). Default: Cluster only. */
  readonly splitMac?: boolean;
  /** Micro-batching: allocations of one subnet that arrive in the same tick go to Redis as one
   *  script call (each still decided on its own). Default true; false sends each alone. */
  readonly batching?: boolean;
  /** Allocations per script call at most when batching (default 64, at most 500). A bigger tick goes
   *  as several calls, one per event-loop turn. 64 rather than 32: with the allocate script's fast
   *  path, a call's fixed cost (EVALSHA, the socket write on both sides, a dozen redis.call()s) is
   *  a large share of it, and bench/ipam.bench.ts measured less CPU per allocation and a higher
   *  rate with 50 concurrent requests as one call than as 32 + 18. */
  readonly maxBatch?: number;
  /** At most two script calls of one subnet are out at once, one that Redis runs and one waiting
   *  behind it, so Node handles one call's replies (and the requests they set off) while Redis runs
   *  the other; more wait for one of them to answer. With none out, a tick of at least
   *  this many allocations goes as half now and half when that call answers (default 32; Infinity:
   *  the whole tick, up to maxBatch): two calls written together to an idle Redis would be run and
   *  answered together. bench/ipam.bench.ts, 50 concurrent requests on a quiet machine: one call of
   *  50 per tick ran at 1 / (Node + Redis µs per allocation), Redis 58% busy; this, at 1.37-1.46x
   *  that, Redis 87% busy. */
  readonly splitAt?: number;
  /** Called with the size of every allocate script call (metrics, tests). */
  readonly onBatch?: (size: number) => void;
}

export function createRedisAllocator(redis: Redis | Cluster, opts: RedisAllocatorOptions = {}): Allocator {
  return new RedisAllocator(redis, opts);
}

class RedisAllocator implements Allocator {
  private readonly ctx: writes.WriteContext;

  constructor(redis: Redis | Cluster, opts: RedisAllocatorOptions) {
    this.ctx = {
      redis,
      cmd: loadCommands(redis),
      cache: new Map(),
      splitMac: opts.splitMac ?? Boolean((redis as { isCluster?: boolean }).isCluster),
      onBatch: opts.onBatch,
      batcher:
        (opts.batching ?? true)
          ? new Batcher({
              maxBatch: Math.min(Math.max(1, opts.maxBatch ?? 64), writes.MAX_BATCH),
              splitAt: opts.splitAt ?? 32,
              // The key only groups requests; every request of a batch carries the same subnet and gen.
              send: (_key, reqs) => writes.sendBatch(this.ctx, reqs),
            })
          : undefined,
    };
  }

  registerSubnet(spec: SubnetSpec, opts?: RegisterOptions): Promise<SubnetInfo> {
    return subnets.registerSubnet(this.ctx, spec, opts);
  }

  getSubnet(name: string, opts?: { fresh?: boolean }): Promise<SubnetInfo | undefined> {
    return subnets.getSubnet(this.ctx, name, opts);
  }

  listSubnets(): Promise<string[]> {
    return subnets.listSubnets(this.ctx);
  }

  deleteSubnet(name: string, opts?: DeleteSubnetOptions): Promise<boolean> {
    return subnets.deleteSubnet(this.ctx, name, opts);
  }

  allocate(req: AllocateRequest): Promise<Allocation> {
    return writes.allocate(this.ctx, req);
  }

  get(subnet: string, owner: string): Promise<Reservation | undefined> {
    return reads.get(this.ctx, subnet, owner);
  }

  list(subnet: string, opts?: ListOptions): Promise<ReservationPage> {
    return reads.list(this.ctx, subnet, opts);
  }

  release(subnet: string, owner: string): Promise<boolean> {
    return writes.release(this.ctx, subnet, owner);
  }

  replace(req: ReplaceRequest): Promise<Reservation> {
    return writes.replace(this.ctx, req);
  }

  counts(subnet: string): Promise<SubnetCounts> {
    return reads.counts(this.ctx, subnet);
  }

  audit(subnet: string): Promise<Violation[]> {
    return reads.audit(this.ctx, subnet);
  }
}
