// The ports of the manual reservation API: Redis only, built from configuration. Enough for the
// Workers entry and kubectl-vip, which so load no Kubernetes client, logger or OVSDB client.
import { Cluster, Redis } from 'ioredis';
import type { Config } from '../../shared/config.ts';
import { type ReadinessCheck, redisCheck } from '../../shared/health/readiness.ts';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { createRedisAapIndex } from '../../shared/ipam/redis/aap-index.ts';
import type { FunctionMetrics } from '../../shared/metrics/functions.ts';
import type { AapIndexPort } from '../../shared/reconcile/deps.ts';

export interface Ports {
  readonly allocator: Allocator;
  /** The AAP parent index, on the same Redis client (only the event handlers use it). */
  readonly aapIndex: AapIndexPort;
  /** What /readyz asks: each dependency these ports reach. */
  readonly checks: readonly ReadinessCheck[];
  close(): Promise<void>;
  /** Loads now what the first requests would otherwise wait for (called once the server listens). */
  warm?(): void;
}

export interface PortsOptions {
  /** Time the allocator's calls and the NB transactions; show the allocator's subnet counts. */
  metrics?: FunctionMetrics;
  /**
   * Keys of the AAP parent index under this scope (keys.ts aapIndexTag): for tests that share one
   * Redis between API servers, whose indexes and markers must not mix. A deployment sets none.
   */
  aapIndexScope?: string;
}

export function createRedisClient(config: Config): Redis | Cluster {
  const r = config.redis;
  // Fail a request quickly when Redis is down instead of queueing it for ever.
  const common = {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    // A password from REDIS_PASSWORD[_FILE]; one inside REDIS_URL works as well.
    ...(r.password ? { password: r.password } : {}),
  };
  return r.kind === 'cluster'
    ? new Cluster([...r.nodes], { redisOptions: common })
    : new Redis(r.url, common);
}

export function createPorts(config: Config, opts: PortsOptions = {}): Ports {
  const redis = createRedisClient(config);
  // Without a listener ioredis prints every failed reconnect; calls fail on their own and /readyz
  // reports the outage.
  redis.on('error', () => {});
  const allocator = createRedisAllocator(redis);
  opts.metrics?.showSubnets(allocator);
  return {
    allocator: opts.metrics ? opts.metrics.instrumentAllocator(allocator) : allocator,
    aapIndex: createRedisAapIndex(redis, opts.aapIndexScope ? { scope: opts.aapIndexScope } : {}),
    checks: [redisCheck(redis)],
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
