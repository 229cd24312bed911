// The whole local system on loopback: Redis (or a 3-master Redis Cluster), OVN NB (or a 3-member
// Raft cluster), the development API server with the CRDs and `ovn-default`, N function replicas
// and the relay. Used by `npm start`, the end-to-end tests, the chaos test and the scaling demo.
// Secrets (API token, relay HMAC key, Redis password) reach the processes as files named by
// `*_FILE` variables, never on a command line. A daemon that dies by itself (a crash, a kill -9 from
// outside) is restarted on the same port and data directory, as a cluster would restart a pod.
//
// This file is the composition: the options, the `Stack` handle, the secrets, and the order things
// start and stop in. Each part lives in a module of its own: backends.ts (Redis, NB, API server),
// latency-paths.ts (functionRttMs), replicas.ts (function replicas, scaling, the sinks file),
// relays.ts (relay processes, leader identities, startRelay), programs.ts (ROOT, how our programs
// run, the inherited environment).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DevApiServer, OVN_EXTENSION } from '../dev-apiserver/index.ts';
import { maybeStartNodeAgent, type NodeAgent } from '../node-agent/index.ts';
import { startApiServer, startBackends } from './backends.ts';
import { startLatencyPaths } from './latency-paths.ts';
import { ROOT } from './programs.ts';
import { createRelays } from './relays.ts';
import { createReplicas, type FunctionReplica, type FunctionRuntime } from './replicas.ts';
import type { RestartPolicy } from './restart-policy.ts';
import {
  type Daemon,
  makeTempDir,
  type NbRaftCluster,
  type OvsdbServer,
  type RedisClusterHandle,
  type RedisServer,
  startedPids,
  stopPid,
} from './services.ts';
import { createSupervisor } from './supervisor.ts';

// Moved out, still reachable from here (tests, bench and tools import them from stack.ts).
export type { FunctionReplica, FunctionRuntime };
export { ROOT };

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

  const backends = await startBackends(opts, dir, redisPassword, supervisor, log);
  const { live, redisCluster, nbRaft, nbRemote, redisClusterNodes, redisUrl, redisPlainUrl } = backends;

  const apiServer = await startApiServer(dir, log);
  inProcess.push(apiServer);
  // `kubectl ko nbctl` finds the NB through the current kubeconfig's cluster.
  apiServer.setClusterExtension(OVN_EXTENSION, { nb: nbRemote });

  // With a round trip to add: the functions reach every back end through a latency proxy.
  let stopProxies: () => Promise<void> = async () => {};
  let via: Awaited<ReturnType<typeof startLatencyPaths>>['via'] | undefined;
  if (opts.functionRttMs !== undefined) {
    const paths = await startLatencyPaths(opts.functionRttMs, {
      opts,
      dir,
      nbRemote,
      redis: live.redis,
      redisClusterNodes,
      apiServer,
      inProcess,
    });
    via = paths.via;
    stopProxies = paths.stop;
  }

  const replicaSet = createReplicas({
    opts,
    dir,
    supervisor,
    files,
    redisPlainUrl,
    redisClusterNodes,
    nbRemote,
    kubeconfigPath: apiServer.kubeconfigPath,
    via,
  });
  const { functions, functionEnvironment, startReplica } = replicaSet;
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
  replicaSet.initSinks();

  const relaySet = createRelays({
    opts,
    dir,
    supervisor,
    kubeconfigPath: apiServer.kubeconfigPath,
    functions,
    sinksFile: replicaSet.sinksFile,
    files,
    redisPlainUrl,
  });
  const { relays } = relaySet;
  const relayCount = relaySet.count;

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
    relayIdentity: relaySet.relayIdentity,
    get relayHealthUrl() {
      return relaySet.healthUrl(0);
    },
    ...(node ? { node } : {}),
    functionEnvironment,
    startReplica,
    addReplica: replicaSet.addReplica,
    removeReplica: replicaSet.removeReplica,
    startRelay: relaySet.startRelay,
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
