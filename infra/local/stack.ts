// The whole local system on loopback: Redis (or a 3-master Redis Cluster), OVN NB (or a 3-member
// Raft cluster), the development API server with the CRDs and `ovn-default`, N function replicas
// and the relay. Used by `npm start`, the end-to-end tests, the chaos test and the scaling demo.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type DevApiServer, startDevApiServer } from '../dev-apiserver/index.ts';
import { maybeStartNodeAgent, type NodeAgent } from '../node-agent/index.ts';
import {
  type Daemon,
  freePort,
  makeTempDir,
  type NbRaftCluster,
  type OvsdbServer,
  type RedisClusterHandle,
  type RedisServer,
  spawnDaemon,
  startedPids,
  startNbRaft,
  startNbServer,
  startRedis,
  startRedisCluster,
  stopPid,
  waitFor,
} from './services.ts';

/** The project root, whether this file runs from its source or compiled under `dist/`. */
export const ROOT = resolve(
  import.meta.dirname,
  '../..',
  basename(resolve(import.meta.dirname, '../..')) === 'dist' ? '..' : '.',
);
/** True when this code runs compiled (from `dist/`, `npm run build`), as benchmarks run it. */
const RUNNING_COMPILED = import.meta.url.endsWith('.js');
const CRD_DIR = join(ROOT, 'infra/manifests/crds');
const TSX = ['--import', 'tsx'];

export interface StackOptions {
  /** Where logs, the kubeconfig and data go (default: a new temp dir). */
  dir?: string;
  replicas?: number;
  redis?: 'standalone' | 'cluster';
  nb?: 'standalone' | 'raft';
  /** Start the relay (default true). */
  relay?: boolean;
  /** Relay resync period, e.g. `30s` (default 5m). */
  resync?: string;
  /**
   * Register the functions' validating admission webhook with the API server (default true), as a
   * ValidatingWebhookConfiguration would. Tests of the handlers' own validation turn it off, since
   * events may come from clusters without the webhook.
   */
  admission?: boolean;
  /**
   * Run the node agent (real OVS + OVN dataplane, pods as network namespaces) when root; one per
   * machine, so `npm start` turns it on and tests that run stacks side by side leave it off.
   */
  dataplane?: boolean;
  /** Extra environment for the function replicas (e.g. LOG_LEVEL). */
  functionEnv?: Record<string, string>;
  /** Extra node flags for the function replicas (e.g. `--cpu-prof` to profile them). */
  functionNodeArgs?: string[];
  /** Extra node flags for the relay. */
  relayNodeArgs?: string[];
  /**
   * Run the function replicas and the relay from `dist/` (`npm run build`), as a deployment runs
   * them, instead of the TypeScript sources through tsx (whose transform adds a cost to every
   * closure). Default: the way this code itself runs (benchmarks run compiled).
   */
  compiled?: boolean;
  log?: (line: string) => void;
}

/** How node starts one of our programs (`functions/serve/node`, without extension). */
function entry(opts: StackOptions, program: string): string[] {
  return (opts.compiled ?? RUNNING_COMPILED)
    ? [join(ROOT, 'dist', `${program}.js`)]
    : [...TSX, join(ROOT, `${program}.ts`)];
}

export interface FunctionReplica extends Daemon {
  readonly url: string;
  readonly port: number;
}

export interface Stack {
  readonly dir: string;
  readonly redisUrl?: string;
  readonly redisClusterNodes?: string;
  readonly nbRemote: string;
  readonly apiServer: DevApiServer;
  readonly kubeconfig: string;
  readonly apiToken: string;
  readonly relaySecret: string;
  readonly functions: FunctionReplica[];
  readonly redis?: RedisServer;
  readonly redisCluster?: RedisClusterHandle;
  readonly nb?: OvsdbServer;
  readonly nbRaft?: NbRaftCluster;
  relay?: Daemon;
  node?: NodeAgent;
  /** The env a function replica (or any tool of ours) needs to reach this stack. */
  functionEnvironment(extra?: Record<string, string>): NodeJS.ProcessEnv;
  startReplica(index: number): Promise<FunctionReplica>;
  startRelay(): Promise<Daemon>;
  /** `.local/stack.json`-style description. */
  describe(): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  // A stack that fails half way (a replica that never answers) stops what it had started.
  const before = new Set(startedPids());
  const inProcess: { stop(): Promise<void> }[] = [];
  try {
    return await buildStack(opts, inProcess);
  } catch (err) {
    for (const part of inProcess.reverse()) await part.stop().catch(() => {});
    await Promise.all(
      startedPids()
        .filter((pid) => !before.has(pid))
        .map((pid) => stopPid(pid, 'SIGKILL')),
    );
    throw err;
  }
}

async function buildStack(opts: StackOptions, inProcess: { stop(): Promise<void> }[]): Promise<Stack> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.dir ?? makeTempDir('vipres-stack-'));
  mkdirSync(dir, { recursive: true });
  const apiToken = randomBytes(16).toString('hex');
  const relaySecret = randomBytes(16).toString('hex');

  log(`starting Redis (${opts.redis ?? 'standalone'}) and OVN NB (${opts.nb ?? 'standalone'})`);
  const [redisPart, nbPart] = await Promise.all([
    opts.redis === 'cluster'
      ? startRedisCluster().then((redisCluster) => ({ redisCluster }))
      : startRedis({ appendonly: true, dir: join(dir, 'redis') }).then((redis) => ({ redis })),
    opts.nb === 'raft'
      ? startNbRaft().then((nbRaft) => ({ nbRaft }))
      : startNbServer({ dir: join(dir, 'nb') }).then((nb) => ({ nb })),
  ]);
  const redis = 'redis' in redisPart ? redisPart.redis : undefined;
  const redisCluster = 'redisCluster' in redisPart ? redisPart.redisCluster : undefined;
  const nb = 'nb' in nbPart ? nbPart.nb : undefined;
  const nbRaft = 'nbRaft' in nbPart ? nbPart.nbRaft : undefined;
  const nbRemote = nb ? nb.remote : nbRaft!.remotes;
  const redisClusterNodes = redisCluster?.startupNodes.map((n) => `${n.host}:${n.port}`).join(',');

  log('starting the development API server');
  const apiServer = await startDevApiServer({
    dir: join(dir, 'apiserver'),
    token: randomBytes(16).toString('hex'),
    crdFiles: ['subnets.kubeovn.io.yaml', 'vips.kubeovn.io.yaml', 'switch-lb-rules.kubeovn.io.yaml'].map(
      (f) => join(CRD_DIR, f),
    ),
    applyFiles: [join(ROOT, 'infra/local/ovn-default.yaml')],
  });
  inProcess.push(apiServer);

  const functions: FunctionReplica[] = [];
  const functionEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    ...(redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: redisClusterNodes }),
    OVN_NB_REMOTES: nbRemote,
    KUBECONFIG: apiServer.kubeconfigPath,
    API_TOKEN: apiToken,
    RELAY_SECRET: relaySecret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...opts.functionEnv,
    ...extra,
  });

  const startReplica = async (index: number): Promise<FunctionReplica> => {
    const port = functions[index]?.port ?? (await freePort());
    const d = spawnDaemon(
      `function-${index}`,
      process.execPath,
      [...(opts.functionNodeArgs ?? []), ...entry(opts, 'functions/serve/node')],
      dir,
      { env: functionEnvironment({ PORT: String(port) }), cwd: ROOT },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`function replica ${index} on ${port}`, async () => (await fetch(`${url}/healthz`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const replica: FunctionReplica = { ...d, url, port };
    functions[index] = replica;
    return replica;
  };

  const replicas = opts.replicas ?? 1;
  log(`starting ${replicas} function replica(s)`);
  await Promise.all(Array.from({ length: replicas }, (_, i) => startReplica(i)));

  let node: NodeAgent | undefined;
  if (opts.dataplane) {
    const started = await maybeStartNodeAgent({
      // short: unix socket paths inside must stay under 108 bytes
      dir: join(dir, 'node'),
      nbRemote,
      kube: { kubeconfigPath: apiServer.kubeconfigPath },
    });
    if (started.skipped) log(`dataplane skipped: ${started.skipped}`);
    node = started.agent;
    if (node) inProcess.push(node);
  }

  if (opts.admission ?? true) {
    apiServer.addAdmissionWebhook({
      name: 'vip-validation.kubeovn.io',
      url: `${functions[0]!.url}/admission/vips`,
      resources: [{ group: 'kubeovn.io', resource: 'vips' }],
      operations: ['CREATE', 'UPDATE'],
      // One replica serves it here; a real cluster puts it behind a Service with Fail.
      failurePolicy: 'Ignore',
    });
  }

  const stack: Stack = {
    dir,
    ...(redis ? { redis, redisUrl: redis.url } : {}),
    ...(redisCluster ? { redisCluster, redisClusterNodes } : {}),
    ...(nb ? { nb } : {}),
    ...(nbRaft ? { nbRaft } : {}),
    nbRemote,
    apiServer,
    kubeconfig: apiServer.kubeconfigPath,
    apiToken,
    relaySecret,
    functions,
    ...(node ? { node } : {}),
    functionEnvironment,
    startReplica,
    async startRelay() {
      const sinks = functions.flatMap((f) => ['--sink', `${f.url}/events`]);
      const relay = spawnDaemon(
        `relay-${Date.now()}`,
        process.execPath,
        [
          ...(opts.relayNodeArgs ?? []),
          ...entry(opts, 'infra/relay/main'),
          '--kubeconfig',
          apiServer.kubeconfigPath,
          ...sinks,
          '--secret',
          relaySecret,
          '--resync',
          opts.resync ?? '5m',
          // Handlers are I/O-bound; many events in flight keep every replica busy.
          '--concurrency',
          String(256 * Math.max(1, functions.length)),
        ],
        dir,
        // info: the relay says little at info (start, synced, stop), and its sync line is awaited here.
        { env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }, cwd: ROOT },
      );
      stack.relay = relay;
      // Ready once it has listed everything and watches: events from now on are not missed or late.
      await waitFor(
        'the relay to list and watch',
        async () => readFileSync(relay.logFile, 'utf8').includes('initial lists delivered'),
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      return relay;
    },
    describe() {
      return {
        dir,
        kubeconfig: apiServer.kubeconfigPath,
        apiServer: apiServer.url,
        nbRemote,
        ...(redis ? { redisUrl: redis.url } : { redisClusterNodes }),
        functionsUrl: functions[0]?.url,
        functionUrls: functions.map((f) => f.url),
        apiToken,
        relayPid: stack.relay?.pid,
        ...(node
          ? {
              node: { instance: node.instance, sbRemote: node.sbRemote, netnsPrefix: `vp-${node.instance}-` },
            }
          : {}),
      };
    },
    async stop() {
      await stack.relay?.stop();
      await Promise.all(functions.map((f) => f.stop()));
      await stack.node?.stop();
      await apiServer.stop();
      await Promise.all([redis?.stop(), redisCluster?.stop(), nb?.stop(), nbRaft?.stop()]);
      // A stack's own temp dir goes with it; a dir the caller chose (npm start's .local/run) stays
      // for its logs.
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.relay ?? true) {
    log('starting the relay');
    await stack.startRelay();
  }
  return stack;
}

/** Writes the machine-readable description other tools read (`.local/stack.json`). */
export function writeStackFile(stack: Stack, file = join(ROOT, '.local/stack.json')): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stack.describe(), null, 2)}\n`, { mode: 0o600 });
  return file;
}
