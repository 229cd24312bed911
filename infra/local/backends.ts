// The local stack's back ends: Redis (or a 3-master Redis Cluster) and OVN NB (or a 3-member Raft
// cluster), each watched by the supervisor so a daemon that dies by itself comes back on the same
// port and data directory, and the development API server with the CRDs and `ovn-default`.
// Changes when what the functions run against changes; the functions and relay live elsewhere
// (replicas.ts, relays.ts).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type DevApiServer, startDevApiServer } from '../dev-apiserver/index.ts';
import { ROOT } from './programs.ts';
import {
  type NbRaftCluster,
  type OvsdbServer,
  type RedisClusterHandle,
  type RedisServer,
  startNbRaft,
  startNbServer,
  startRedis,
  startRedisCluster,
} from './services.ts';
import type { Supervisor } from './supervisor.ts';

const CRD_DIR = join(ROOT, 'infra/manifests/crds');

export interface Backends {
  /** Mutable: a restarted daemon is a new handle. */
  readonly live: { redis?: RedisServer; nb?: OvsdbServer };
  readonly redisCluster?: RedisClusterHandle;
  readonly nbRaft?: NbRaftCluster;
  readonly nbRemote: string;
  readonly redisClusterNodes?: string;
  readonly redisUrl?: string;
  /** The plain URL for the functions: their password comes from its file. */
  readonly redisPlainUrl?: string;
}

/** Starts Redis and NB side by side and puts every daemon of theirs under the supervisor. */
export async function startBackends(
  opts: { redis?: 'standalone' | 'cluster'; nb?: 'standalone' | 'raft' },
  dir: string,
  redisPassword: string,
  supervisor: Supervisor,
  log: (line: string) => void,
): Promise<Backends> {
  log(`starting Redis (${opts.redis ?? 'standalone'}) and OVN NB (${opts.nb ?? 'standalone'})`);
  const [redisPart, nbPart] = await Promise.all([
    opts.redis === 'cluster'
      ? startRedisCluster(3, { password: redisPassword, appendonly: true }).then((redisCluster) => ({
          redisCluster,
        }))
      : startRedis({ appendonly: true, dir: join(dir, 'redis'), password: redisPassword }).then((redis) => ({
          redis,
        })),
    opts.nb === 'raft'
      ? startNbRaft().then((nbRaft) => ({ nbRaft }))
      : startNbServer({ dir: join(dir, 'nb') }).then((nb) => ({ nb })),
  ]);
  // Mutable: a restarted daemon is a new handle.
  const live: { redis?: RedisServer; nb?: OvsdbServer } = {};
  if ('redis' in redisPart) live.redis = redisPart.redis;
  const redisCluster = 'redisCluster' in redisPart ? redisPart.redisCluster : undefined;
  if ('nb' in nbPart) live.nb = nbPart.nb;
  const nbRaft = 'nbRaft' in nbPart ? nbPart.nbRaft : undefined;
  const nbRemote = live.nb ? live.nb.remote : nbRaft!.remotes;
  const redisClusterNodes = redisCluster?.startupNodes.map((n) => `${n.host}:${n.port}`).join(',');
  const redisUrl = live.redis?.url;
  // The plain URL for the functions: their password comes from its file.
  const redisPlainUrl = live.redis ? `redis://127.0.0.1:${live.redis.port}` : undefined;

  if (live.redis) {
    supervisor.watch(
      'Redis',
      live.redis,
      (old) => old.respawn(),
      (next) => {
        live.redis = next;
      },
      (d) => `port ${d.port}, data in ${d.dir}`,
    );
  }
  redisCluster?.nodes.forEach((node, i) => {
    supervisor.watch(
      `Redis Cluster node ${i}`,
      node,
      (old) => old.respawn(),
      (next) => {
        redisCluster.nodes[i] = next;
      },
      (d) => `port ${d.port}, data in ${d.dir}`,
    );
  });
  if (live.nb) {
    supervisor.watch(
      'OVN NB',
      live.nb,
      (old) => old.respawn(),
      (next) => {
        live.nb = next;
      },
      (d) => `port ${d.port}, database ${d.dbFile}`,
    );
  }
  nbRaft?.members.forEach((member, i) => {
    supervisor.watch(
      `OVN NB Raft member ${i}`,
      member,
      async (old) => ({ ...(await old.respawn()), raftPort: member.raftPort }),
      (next) => {
        nbRaft.members[i] = next;
      },
      (d) => `port ${d.port}, database ${d.dbFile}`,
    );
  });
  return {
    live,
    ...(redisCluster ? { redisCluster } : {}),
    ...(nbRaft ? { nbRaft } : {}),
    nbRemote,
    ...(redisClusterNodes !== undefined ? { redisClusterNodes } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(redisPlainUrl !== undefined ? { redisPlainUrl } : {}),
  };
}

/** The development API server with the CRDs and `ovn-default`. */
export async function startApiServer(dir: string, log: (line: string) => void): Promise<DevApiServer> {
  log('starting the development API server');
  const apiServer = await startDevApiServer({
    dir: join(dir, 'apiserver'),
    token: randomBytes(16).toString('hex'),
    crdFiles: [
      ...['subnets.kubeovn.io.yaml', 'vips.kubeovn.io.yaml', 'switch-lb-rules.kubeovn.io.yaml'].map((f) =>
        join(CRD_DIR, f),
      ),
      // kube-ovn's own IP CRD: the local stack plays a kube-ovn cluster (we read IPs, never install them).
      join(ROOT, 'infra/local/kube-ovn-crds/ips.kubeovn.io.yaml'),
    ],
    applyFiles: [join(ROOT, 'infra/local/ovn-default.yaml')],
  });
  return apiServer;
}
