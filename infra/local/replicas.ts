// The function replicas of the local stack: the command each runtime starts with (node or deno,
// from source or `dist/`), the environment that points them at the stack, spawning one on free
// ports and waiting for its /healthz, restarting it on the same ports under the supervisor, and
// scaling by one (`addReplica` / `removeReplica`) with the relay's sinks file kept in step
// (`dynamicSinks`). Changes when how replicas run or scale changes; the relay reads `functions`
// and `sinksFile` from here (relays.ts).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LatencyPaths } from './latency-paths.ts';
import { entry, inheritedEnv, ROOT } from './programs.ts';
import { type Daemon, freePort, sleep, spawnDaemon, waitFor } from './services.ts';
import type { StackOptions } from './stack.ts';
import type { Supervisor } from './supervisor.ts';

export type FunctionRuntime = 'node' | 'deno';

export interface FunctionReplica extends Daemon {
  readonly url: string;
  readonly port: number;
  readonly runtime: FunctionRuntime;
  /** Its HEALTH_PORT server: /metrics, /livez, /readyz (plain HTTP, no token; Node replicas only). */
  readonly healthUrl: string;
}

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

/** What the replicas share with the rest of the stack. */
export interface ReplicaContext {
  opts: StackOptions;
  dir: string;
  supervisor: Supervisor;
  /** The stack's secret files. */
  files: { apiToken: string; relaySecret: string; redisPassword: string };
  redisPlainUrl: string | undefined;
  redisClusterNodes: string | undefined;
  nbRemote: string;
  kubeconfigPath: string;
  /** With `functionRttMs`: the proxied addresses the replicas use instead. */
  via: LatencyPaths | undefined;
}

export interface Replicas {
  /** Every replica by index (the same array for the stack's life). */
  readonly functions: FunctionReplica[];
  /** The relay's sink list as a file it watches (with `dynamicSinks`). */
  readonly sinksFile: string;
  functionEnvironment(extra?: Record<string, string>): NodeJS.ProcessEnv;
  startReplica(index: number): Promise<FunctionReplica>;
  /** Takes the replicas started so far as the relay's sinks (and writes the file with `dynamicSinks`). */
  initSinks(): void;
  addReplica(): Promise<FunctionReplica>;
  removeReplica(drainMs?: number): Promise<void>;
}

export function createReplicas(ctx: ReplicaContext): Replicas {
  const { opts, dir, supervisor, files, redisPlainUrl, redisClusterNodes, nbRemote, via } = ctx;
  const functions: FunctionReplica[] = [];
  const functionEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...inheritedEnv(),
    ...(redisPlainUrl
      ? { REDIS_URL: via?.redis ?? redisPlainUrl }
      : { REDIS_CLUSTER_NODES: via?.cluster ?? redisClusterNodes }),
    REDIS_PASSWORD_FILE: files.redisPassword,
    OVN_NB_REMOTES: via?.nb ?? nbRemote,
    KUBECONFIG: via?.kubeconfig ?? ctx.kubeconfigPath,
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

  // The relay's sink list as a file it watches: a new replica is added once it answers, a
  // leaving one is taken out before it stops (as an EndpointSlice tracks ready pods).
  const sinksFile = join(dir, 'relay-sinks');
  let sinkIndexes = new Set<number>();
  const writeSinks = () => {
    const urls = [...sinkIndexes].sort((a, b) => a - b).map((i) => `${functions[i]!.url}/events`);
    // Whole or not at all: the relay never reads half a list.
    writeFileSync(`${sinksFile}.new`, `${urls.join('\n')}\n`);
    renameSync(`${sinksFile}.new`, sinksFile);
  };
  let nextReplicaIndex = 0;

  return {
    functions,
    sinksFile,
    functionEnvironment,
    startReplica,
    initSinks() {
      sinkIndexes = new Set(functions.map((_, i) => i));
      if (opts.dynamicSinks) writeSinks();
    },
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
  };
}
