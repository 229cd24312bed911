// The outside world the handlers talk to, built from configuration. Entry points create the ports
// once, hand them to createApp(), and close them on shutdown. (OVN and Kubernetes ports join here.)
import { Cluster, Redis } from 'ioredis';
import type { Config } from './config.ts';
import { type Allocator, createRedisAllocator } from './ipam/index.ts';

export interface Ports {
  readonly allocator: Allocator;
  close(): Promise<void>;
}

export function createRedisClient(config: Config): Redis | Cluster {
  const r = config.redis;
  // Fail a request quickly when Redis is down instead of queueing it for ever.
  const common = { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5_000 };
  return r.kind === 'cluster'
    ? new Cluster([...r.nodes], { redisOptions: common })
    : new Redis(r.url, common);
}

export function createPorts(config: Config): Ports {
  const redis = createRedisClient(config);
  return {
    allocator: createRedisAllocator(redis),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
