// The whole local system on loopback: Redis (or a 3-master Redis Cluster), OVN NB (or a 3-member
// Raft cluster), the development API server with the CRDs and `ovn-default`, N function replicas
// and the relay. Used by `npm start`, the end-to-end tests, the chaos test and the scaling demo.
// Secrets (API token, relay HMAC key, Redis password) reach the processes as files named by
// `*_FILE` variables, never on a command line. A daemon that dies by itself (a crash, a kill -9 from
// outside) is restarted on the same port and data directory, as a cluster would restart a pod.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type DevApiServer, OVN_EXTENSION, startDevApiServer } from '../dev-apiserver/index.ts';
import { maybeStartNodeAgent, type NodeAgent } from '../node-agent/index.ts';
import type { RestartPolicy } from './restart-policy.ts';
import {
  type Daemon,
  freePort,
  makeTempDir,
  type NbRaftCluster,
  type OvsdbServer,
  type RedisClusterHandle,
  type RedisServer,
  sleep,
  spawnDaemon,
  startedPids,
  startNbRaft,
  startNbServer,
  startRedis,
  startRedisCluster,
  stopPid,
  waitFor,
} from './services.ts';
import { createSupervisor } from './supervisor.ts';

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
  /**
   * Relay processes (default 1). With more than one they elect a leader through a Lease
   * (`--leader-elect`, Lease `default/vip-relay`): only the leader delivers.
   */
  relays?: number;
  /**
   * The relay keeps the versions it delivered in the stack's Redis (`--state-redis`), so a
   * restarted relay re-delivers only what changed (default true; standalone Redis only). `false`:
   * every restart re-delivers every object, as a relay without a store does.
   */
  relayState?: boolean;
  /** Leader election timing for the relays, e.g. `{ leaseDuration: '4s', renewDeadline: '2s', retryPeriod: '500ms' }`. */
  election?: { leaseDuration?: string; renewDeadline?: string; retryPeriod?: string };
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
  /**
   * The runtime of the function replicas: `node` (default) or `deno` (the `deno` npm package,
   * running functions/serve/deno.ts from source); a list gives replica i the runtime at i (mod its
   * length), e.g. `['node', 'deno']` for a mixed stack.
   */
  functionRuntime?: FunctionRuntime | readonly FunctionRuntime[];
  /** Extra node flags for the function replicas (e.g. `--cpu-prof` to profile them). */
  functionNodeArgs?: string[];
  /** Extra node flags for the relay. */
  relayNodeArgs?: string[];
  /** Extra relay arguments (e.g. `--max-batch 1 --max-in-flight 16`: a per-replica concurrency cap). */
  relayArgs?: string[];
  /** How long startRelay waits for the relay's first lists (default 30 s; a 200,000-object relist takes longer). */
  relayReadyTimeoutMs?: number;
  /**
   * A round trip (ms) added to every connection the function replicas open to Redis, OVN NB and
   * the API server, through latency proxies (infra/local/latency-proxy.ts): replicas then wait on
   * a network as in a cluster. The relay and the test's own clients connect directly.
   */
  functionRttMs?: number;
  /**
   * The relay reads its sinks from a file it watches (`--sinks-file`) instead of `--sink`
   * arguments, so `addReplica` / `removeReplica` change where events go without a restart.
   */
  dynamicSinks?: boolean;
  /**
   * Run the function replicas and the relay from `dist/` (`npm run build`), as a deployment runs
   * them, instead of the TypeScript sources through tsx (whose transform adds a cost to every
   * closure). Default: the way this code itself runs (benchmarks run compiled).
   */
  compiled?: boolean;
  /**
   * Restart Redis, NB, function replicas and the relay when they die by themselves (default on;
   * `false` turns it off). Stops asked for through a daemon's stop() are never undone.
   */
  heal?: boolean | Partial<RestartPolicy>;
  log?: (line: string) => void;
}

/** How node starts one of our programs (`functions/serve/node`, without extension). */
function entry(opts: StackOptions, program: string): string[] {
  return (opts.compiled ?? RUNNING_COMPILED)
    ? [join(ROOT, 'dist', `${program}.js`)]
    : [...TSX, join(ROOT, `${program}.ts`)];
}

export type FunctionRuntime = 'node' | 'deno';

/** The program and arguments that start function replica `index` under its runtime. */
function functionCommand(
  opts: StackOptions,
  index: number,
): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const runtimes = [opts.functionRuntime ?? 'node'].flat();
  if (runtimes[index % runtimes.length] === 'deno')
    // Deno runs the TypeScript sources itself; its cache stays in the project's ignored .cache.
    return {
      cmd: join(ROOT, 'node_modules/.bin/deno'),
      args: ['run', '-A', join(ROOT, 'functions/serve/deno.ts')],
      env: { DENO_DIR: process.env.DENO_DIR ?? join(ROOT, '.cache/deno'), DENO_NO_UPDATE_CHECK: '1' },
    };
  return {
    cmd: process.execPath,
    args: [...(opts.functionNodeArgs ?? []), ...entry(opts, 'functions/serve/node')],
    env: {},
  };
}

export interface FunctionReplica extends Daemon {
  readonly url: string;
  readonly port: number;
  readonly runtime: FunctionRuntime;
  /** Its HEALTH_PORT server: /metrics, /livez, /readyz (plain HTTP, no token; Node replicas only). */
  readonly healthUrl: string;
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
  /** The password the stack's Redis requires (also inside `redisUrl`). */
  readonly redisPassword: string;
  /** Where the secret files are (0700; files 0600): api-token, relay-secret, redis-password. */
  readonly secretsDir: string;
  readonly functions: FunctionReplica[];
  /** The current Redis server (a new handle after the stack restarted it). */
  readonly redis?: RedisServer;
  readonly redisCluster?: RedisClusterHandle;
  /** The current NB server (a new handle after the stack restarted it). */
  readonly nb?: OvsdbServer;
  readonly nbRaft?: NbRaftCluster;
  /** The first relay process (relays[0]). */
  relay?: Daemon;
  /** Every relay process, by index; more than one elect a leader. */
  readonly relays: Daemon[];
  /** holderIdentity of relay `index`'s current process (with leader election), e.g. `relay-1.2`. */
  relayIdentity(index: number): string | undefined;
  /** The first relay's HEALTH_PORT server: /metrics, /livez, /readyz. */
  readonly relayHealthUrl: string;
  node?: NodeAgent;
  /** The env a function replica (or any tool of ours) needs to reach this stack. */
  functionEnvironment(extra?: Record<string, string>): NodeJS.ProcessEnv;
  startReplica(index: number): Promise<FunctionReplica>;
  /** Starts one more replica and, with `dynamicSinks`, adds it to the relay's sinks. */
  addReplica(): Promise<FunctionReplica>;
  /**
   * Takes the last replica out of the relay's sinks, waits `drainMs` for what the relay had sent
   * it, then stops it (SIGTERM: it finishes what it holds). Needs `dynamicSinks`.
   */
  removeReplica(drainMs?: number): Promise<void>;
  /**
   * Starts relay `index` (default 0). Resolves once a relay has listed and watches: this one, or
   * with leader election, whichever leads. `state: false`: this relay keeps no settled versions (it
   * re-delivers every object, as before the store), whatever the stack's `relayState`.
   */
  startRelay(index?: number, relayOpts?: { state?: boolean }): Promise<Daemon>;
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
  const redisPassword = randomBytes(16).toString('hex');
  // As a Kubernetes Secret volume would hold them: one file per value, readable by us only.
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(secretsDir, 0o700);
  const secretFile = (name: string, value: string) => {
    const file = join(secretsDir, name);
    writeFileSync(file, value, { mode: 0o600 });
    return file;
  };
  const files = {
    apiToken: secretFile('api-token', apiToken),
    relaySecret: secretFile('relay-secret', relaySecret),
    redisPassword: secretFile('redis-password', redisPassword),
  };
  // For `curl -H @FILE`: the token stays off curl's command line too.
  secretFile('api-auth-header', `Authorization: Bearer ${apiToken}\n`);

  const supervisor = createSupervisor(log, opts.heal);
  inProcess.push(supervisor);

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
  inProcess.push(apiServer);
  // `kubectl ko nbctl` finds the NB through the current kubeconfig's cluster.
  apiServer.setClusterExtension(OVN_EXTENSION, { nb: nbRemote });

  // With a round trip to add: the functions reach every back end through a latency proxy.
  let stopProxies: () => Promise<void> = async () => {};
  const via = opts.functionRttMs !== undefined ? await latencyPaths(opts.functionRttMs) : undefined;
  async function latencyPaths(rttMs: number) {
    // Every back-end port the functions use, then one proxy process for all of them.
    const hostPorts = [
      ...nbRemote.split(','),
      ...(live.redis ? [`127.0.0.1:${live.redis.port}`] : []),
      ...(redisClusterNodes ? redisClusterNodes.split(',') : []),
      `127.0.0.1:${new URL(apiServer.url).port}`,
    ];
    const portOf = (hp: string) => Number(/:(\d+)$/.exec(hp)?.[1]);
    const proxyDaemon = spawnDaemon(
      'latency-proxies',
      process.execPath,
      [
        ...entry(opts, 'infra/local/latency-proxy-main'),
        '--rtt',
        String(rttMs),
        ...hostPorts.flatMap((hp) => ['--target', String(portOf(hp))]),
      ],
      dir,
      { cwd: ROOT },
    );
    inProcess.push({ stop: () => proxyDaemon.stop() });
    stopProxies = () => proxyDaemon.stop();
    const ports = await waitFor(
      'the latency proxies',
      async () => {
        const m = /latency proxies: (\{.*\})/.exec(readFileSync(proxyDaemon.logFile, 'utf8'));
        return m ? (JSON.parse(m[1]!) as { ports: number[] }).ports : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const proxied = new Map(hostPorts.map((hp, i) => [hp, ports[i]!]));
    const swapPort = async (hostPort: string) => {
      const m = /^(.*:)(\d+)$/.exec(hostPort);
      return m ? `${m[1]}${proxied.get(hostPort)}` : hostPort;
    };
    const proxy = async (port: number) => proxied.get(`127.0.0.1:${port}`)!;
    const nb = (await Promise.all(nbRemote.split(',').map(swapPort))).join(',');
    const redis = live.redis ? `redis://127.0.0.1:${await proxy(live.redis.port)}` : undefined;
    const cluster = redisClusterNodes
      ? (await Promise.all(redisClusterNodes.split(',').map(swapPort))).join(',')
      : undefined;
    const apiPort = Number(new URL(apiServer.url).port);
    const kubeconfig = join(dir, 'kubeconfig-functions');
    writeFileSync(
      kubeconfig,
      readFileSync(apiServer.kubeconfigPath, 'utf8').replaceAll(
        `server: ${apiServer.url}`,
        `server: https://127.0.0.1:${await proxy(apiPort)}`,
      ),
      { mode: 0o600 },
    );
    return { nb, redis, cluster, kubeconfig };
  }

  const functions: FunctionReplica[] = [];
  const functionEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...inheritedEnv(),
    ...(redisPlainUrl
      ? { REDIS_URL: via?.redis ?? redisPlainUrl }
      : { REDIS_CLUSTER_NODES: via?.cluster ?? redisClusterNodes }),
    REDIS_PASSWORD_FILE: files.redisPassword,
    OVN_NB_REMOTES: via?.nb ?? nbRemote,
    KUBECONFIG: via?.kubeconfig ?? apiServer.kubeconfigPath,
    API_TOKEN_FILE: files.apiToken,
    RELAY_SECRET_FILE: files.relaySecret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...opts.functionEnv,
    ...extra,
  });

  /** Spawns replica `index` and waits for its /healthz; undefined if it lost its port to another process. */
  const spawnReplica = async (index: number, port: number, healthPort: string) => {
    const { cmd, args, env } = functionCommand(opts, index);
    const d = spawnDaemon(`function-${index}`, cmd, args, dir, {
      env: {
        ...functionEnvironment({
          PORT: String(port),
          HEALTH_PORT: healthPort,
          HEALTH_HOST: '127.0.0.1',
          REPLICA_NAME: `function-${index}`,
        }),
        ...env,
      },
      cwd: ROOT,
    });
    const url = `http://127.0.0.1:${port}`;
    let exited = false;
    void d.exited.then(() => {
      exited = true;
    });
    await waitFor(
      `function replica ${index} on ${port}`,
      async () => exited || (await fetch(`${url}/healthz`)).ok,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    if (exited) {
      // A port from freePort() can be taken by another process before the replica binds it (tests
      // run in parallel): the caller picks new ports. Any other early exit is an error.
      if (readFileSync(d.logFile, 'utf8').includes('EADDRINUSE')) return undefined;
      throw new Error(`function replica ${index} exited at start; see ${d.logFile}`);
    }
    return { d, cmd, url };
  };

  const startReplica = async (index: number): Promise<FunctionReplica> => {
    const known = functions[index];
    let port = known?.port ?? (await freePort());
    let healthPort = known?.healthUrl.split(':').pop() ?? String(await freePort());
    let started = await spawnReplica(index, port, healthPort);
    // A restart keeps its ports (the relay and tests know them); a first start may take others.
    for (let attempt = 1; !started && !known && attempt < 3; attempt++) {
      port = await freePort();
      healthPort = String(await freePort());
      started = await spawnReplica(index, port, healthPort);
    }
    if (!started) throw new Error(`function replica ${index}: port ${port} or ${healthPort} was taken`);
    const { d, cmd, url } = started;
    const replica: FunctionReplica = {
      ...d,
      url,
      port,
      runtime: cmd === process.execPath ? 'node' : 'deno',
      healthUrl: `http://127.0.0.1:${healthPort}`,
    };
    functions[index] = replica;
    supervisor.watch(
      `function replica ${index}`,
      replica,
      () => startReplica(index),
      () => {}, // startReplica put it in place and watches it
      (r) => `port ${r.port}`,
      { rewatch: false },
    );
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
    if (started.skipped) {
      log(`dataplane skipped: ${started.skipped}`);
      apiServer.api.execUnavailable = `exec needs the local dataplane, which is off: ${started.skipped}`;
    }
    node = started.agent;
    if (node) {
      inProcess.push(node);
      // The agent plays the kubelet's part for `kubectl exec`; its SB serves `kubectl ko sbctl`.
      apiServer.api.exec = node.execBackend;
      apiServer.setClusterExtension(OVN_EXTENSION, { nb: nbRemote, sb: node.sbRemote });
    }
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

  // The relay's sink list as a file it watches: a new replica is added once it answers, a
  // leaving one is taken out before it stops (as an EndpointSlice tracks ready pods).
  const sinksFile = join(dir, 'relay-sinks');
  const sinkIndexes = new Set(functions.map((_, i) => i));
  const writeSinks = () => {
    const urls = [...sinkIndexes].sort((a, b) => a - b).map((i) => `${functions[i]!.url}/events`);
    // Whole or not at all: the relay never reads half a list.
    writeFileSync(`${sinksFile}.new`, `${urls.join('\n')}\n`);
    renameSync(`${sinksFile}.new`, sinksFile);
  };
  if (opts.dynamicSinks) writeSinks();
  let nextReplicaIndex = 0;

  const relayCount = opts.relays ?? 1;
  const elect = relayCount > 1;
  const relays: Daemon[] = [];
  const identities: string[] = [];
  let relaySpawns = 0;
  // Each relay's /metrics, /livez and /readyz. A new port per process: a relay stopped with a drain deadline may still hold its old one.
  const relayHealthPorts: number[] = [];
  // Per relay: whether it keeps settled versions in the stack's Redis (StackOptions.relayState).
  const relayStates: boolean[] = [];
  const spawnRelay = async (index: number) => {
    relayHealthPorts[index] = await freePort();
    // A new identity per process, as client-go's hostname_uuid: a restarted relay is a new candidate.
    const identity = `relay-${index}.${++relaySpawns}`;
    identities[index] = identity;
    const election = elect
      ? [
          '--leader-elect',
          '--identity',
          identity,
          '--lease-namespace',
          'default',
          ...(opts.election?.leaseDuration ? ['--lease-duration', opts.election.leaseDuration] : []),
          ...(opts.election?.renewDeadline ? ['--renew-deadline', opts.election.renewDeadline] : []),
          ...(opts.election?.retryPeriod ? ['--retry-period', opts.election.retryPeriod] : []),
        ]
      : [];
    return spawnDaemon(
      `relay-${index}-${Date.now()}`,
      process.execPath,
      [
        ...(opts.relayNodeArgs ?? []),
        ...entry(opts, 'infra/relay/main'),
        '--kubeconfig',
        apiServer.kubeconfigPath,
        ...(opts.dynamicSinks
          ? ['--sinks-file', sinksFile]
          : functions.flatMap((f) => ['--sink', `${f.url}/events`])),
        '--resync',
        opts.resync ?? '5m',
        // Handlers are I/O-bound; many events in flight keep every replica busy.
        '--concurrency',
        String(256 * Math.max(1, functions.length)),
        ...election,
        ...(opts.relayArgs ?? []),
      ],
      dir,
      // info: the relay says little at info (start, synced, stop), and its sync line is awaited here.
      {
        env: {
          ...inheritedEnv(),
          RELAY_SECRET_FILE: files.relaySecret,
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
          HEALTH_PORT: String(relayHealthPorts[index]),
          HEALTH_HOST: '127.0.0.1',
          // The settled-version store: the stack's Redis, its password from the same file.
          ...(redisPlainUrl && (relayStates[index] ?? opts.relayState ?? true)
            ? { RELAY_STATE_REDIS: redisPlainUrl, RELAY_STATE_REDIS_PASSWORD_FILE: files.redisPassword }
            : {}),
        },
        cwd: ROOT,
      },
    );
  };

  const stack: Stack = {
    dir,
    get redis() {
      return live.redis;
    },
    ...(redisUrl ? { redisUrl } : {}),
    ...(redisCluster ? { redisCluster, redisClusterNodes } : {}),
    get nb() {
      return live.nb;
    },
    ...(nbRaft ? { nbRaft } : {}),
    nbRemote,
    apiServer,
    kubeconfig: apiServer.kubeconfigPath,
    apiToken,
    relaySecret,
    redisPassword,
    secretsDir,
    functions,
    relays,
    get relay() {
      return relays[0];
    },
    set relay(d: Daemon | undefined) {
      if (d) relays[0] = d;
      else relays.splice(0, 1);
    },
    relayIdentity: (index) => (elect ? identities[index] : undefined),
    get relayHealthUrl() {
      return `http://127.0.0.1:${relayHealthPorts[0]}`;
    },
    ...(node ? { node } : {}),
    functionEnvironment,
    startReplica,
    async addReplica() {
      // Several may start at once (a scale-up by more than one): each takes its own index.
      const index = Math.max(functions.length, nextReplicaIndex);
      nextReplicaIndex = index + 1;
      const replica = await startReplica(index);
      sinkIndexes.add(index);
      if (opts.dynamicSinks) writeSinks();
      return replica;
    },
    async removeReplica(drainMs = 2_000) {
      if (!opts.dynamicSinks) throw new Error('removeReplica needs a stack with dynamicSinks');
      const index = functions.length - 1;
      if (index < 1) throw new Error('the last replica stays');
      sinkIndexes.delete(index);
      writeSinks();
      await sleep(drainMs);
      const replica = functions.pop()!;
      nextReplicaIndex = functions.length;
      await replica.stop();
    },
    async startRelay(index = 0, relayOpts = {}) {
      relayStates[index] = relayOpts.state ?? opts.relayState ?? true;
      const relay = await spawnRelay(index);
      relays[index] = relay;
      // A restarted relay lists everything again (or, electing, waits for the lease); nothing waits for it.
      supervisor.watch(
        relayCount > 1 ? `relay ${index}` : 'the relay',
        relay,
        async () => spawnRelay(index),
        (next) => {
          relays[index] = next;
        },
        () => 'same sinks',
      );
      // Ready once a relay has listed everything and watches: events from now on are not missed or
      // late. Electing, a follower never lists: whichever relay leads counts.
      const watched = elect ? relays : [relay];
      await waitFor(
        'the relay to list and watch',
        async () =>
          watched.some(
            (r) =>
              r &&
              startedPids().includes(r.pid) &&
              readFileSync(r.logFile, 'utf8').includes('initial lists delivered'),
          ),
        { timeoutMs: opts.relayReadyTimeoutMs ?? 30_000, intervalMs: 50 },
      );
      return relay;
    },
    describe() {
      return {
        dir,
        kubeconfig: apiServer.kubeconfigPath,
        apiServer: apiServer.url,
        nbRemote,
        ...(redisUrl ? { redisUrl } : { redisClusterNodes }),
        redisPassword,
        secretsDir,
        functionsUrl: functions[0]?.url,
        functionUrls: functions.map((f) => f.url),
        metricsUrls: [...functions.map((f) => `${f.healthUrl}/metrics`), `${stack.relayHealthUrl}/metrics`],
        apiToken,
        relayPid: stack.relay?.pid,
        ...(relays.length > 1 ? { relayPids: relays.map((r) => r.pid) } : {}),
        ...(node
          ? {
              node: { instance: node.instance, sbRemote: node.sbRemote, netnsPrefix: `vp-${node.instance}-` },
            }
          : {}),
      };
    },
    async stop() {
      // First: no restart may race with the stops below.
      await supervisor.stop();
      await Promise.all(relays.map((r) => r.stop()));
      await Promise.all(functions.map((f) => f.stop()));
      await stack.node?.stop();
      await apiServer.stop();
      // The latency proxies too: stop() left them running (found orphaned after a test).
      await stopProxies();
      await Promise.all([live.redis?.stop(), redisCluster?.stop(), live.nb?.stop(), nbRaft?.stop()]);
      // A stack's own temp dir goes with it; a dir the caller chose (npm start's .local/run) stays
      // for its logs.
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.relay ?? true) {
    log(relayCount > 1 ? `starting ${relayCount} relays (leader election)` : 'starting the relay');
    await Promise.all(Array.from({ length: relayCount }, (_, i) => stack.startRelay(i)));
  }
  return stack;
}

/** Writes the machine-readable description other tools read (`.local/stack.json`). */
export function writeStackFile(stack: Stack, file = join(ROOT, '.local/stack.json')): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stack.describe(), null, 2)}\n`, { mode: 0o600 });
  return file;
}

// Secrets a parent shell may hold must not reach the children next to the stack's own files
// (`X` and `X_FILE` together are refused), nor a Redis address of another system.
const STACK_OWNED = [
  'API_TOKEN',
  'RELAY_SECRET',
  'EVENTS_TOKEN',
  'REDIS_PASSWORD',
  'ADMISSION_TOKEN',
  'RELAY_STATE_REDIS',
  'RELAY_STATE_REDIS_PASSWORD',
].flatMap((n) => [n, `${n}_FILE`]);
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [...STACK_OWNED, 'REDIS_URL', 'REDIS_CLUSTER_NODES']) delete env[name];
  return env;
}
