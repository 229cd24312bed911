// Starts the real daemons the stack and the tests need (Redis, OVSDB servers) on free loopback
// ports in a private directory, and stops them by the pid we started. Nothing here is imported by
// shared/ or functions/. The process helpers they use live in processes.ts (re-exported here).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  type Daemon,
  freePort,
  isAlive,
  makeTempDir,
  spawnDaemon,
  stopAllOnExit,
  waitFor,
} from './processes.ts';

export * from './processes.ts';

const run = promisify(execFile);

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';

export interface RedisOptions {
  /** Where data and logs go; a temp dir (removed on stop) when absent. */
  dir?: string;
  port?: number;
  appendonly?: boolean;
  cluster?: boolean;
  /** Remove `dir` on stop (set for the temp dir made here, and kept across restarts). */
  removeDirOnStop?: boolean;
  /**
   * Require this password (`requirepass`, and `masterauth` for replication and Cluster). It goes
   * into a 0600 config file, not onto the command line, where ps would show it.
   */
  password?: string;
}

export interface RedisServer extends Daemon {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`, with the password in it when the server has one. */
  readonly url: string;
  readonly dir: string;
  readonly password?: string;
  /** Starts the same server again on the same port and directory, after it ended by itself. */
  respawn(): Promise<RedisServer>;
  /** Stops and starts the same server on the same port and directory (AOF keeps its data). */
  restart(opts?: { signal?: NodeJS.Signals }): Promise<RedisServer>;
}

// Passwords of the servers started here, by port, so that redisCli(port, ...) authenticates.
const redisPasswords = new Map<number, string>();

/** redis-cli against a local server; the password goes by REDISCLI_AUTH, not by `-a` (ps shows that). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const password = redisPasswords.get(port);
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    env: password ? { ...process.env, REDISCLI_AUTH: password } : process.env,
  });
  return stdout.trim();
}

/** Whether nothing listens on 127.0.0.1:`port` right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolveFree(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolveFree(true)));
  });
}

/** A redis-server that ended before it answered (its port or its cluster bus port was taken). */
class RedisExitedAtStart extends Error {}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  // A port from freePort() can be taken before redis-server binds it (tests run in parallel): with
  // no port asked for, a server that ends at start is tried again on another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOnce(opts);
    } catch (err) {
      if (!(err instanceof RedisExitedAtStart) || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startRedisOnce(opts: RedisOptions): Promise<RedisServer> {
  stopAllOnExit();
  const dir = opts.dir ?? makeTempDir('vipres-redis-');
  const removeDirOnStop = opts.removeDirOnStop ?? !opts.dir;
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args: string[] = [];
  if (opts.password) {
    // redis-server takes a config file as its first argument; flags after it add to it.
    const conf = join(dir, 'auth.conf');
    const quoted = JSON.stringify(opts.password);
    writeFileSync(conf, `requirepass ${quoted}\nmasterauth ${quoted}\n`, { mode: 0o600 });
    args.push(conf);
    redisPasswords.set(port, opts.password);
  }
  args.push(
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    // everysec is Redis' default; tests that need "acknowledged = durable" set it per server.
    '--appendfsync',
    'everysec',
    '--logfile',
    join(dir, 'redis.log'),
  );
  if (opts.cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'));
  }
  const d = spawnDaemon(`redis-${port}`, 'redis-server', args, dir);
  let exited = false;
  const ended = d.exited.then(() => {
    exited = true;
    return true;
  });
  // Raced with the server's end: whatever holds the port instead may never answer a PING.
  await waitFor(
    `redis on ${port}`,
    async () => Promise.race([ended, redisCli(port, 'PING').then((r) => r === 'PONG')]),
    { timeoutMs: 10_000 },
  );
  if (exited) {
    const log = join(dir, 'redis.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' / ') : '';
    if (removeDirOnStop) rmSync(dir, { recursive: true, force: true });
    throw new RedisExitedAtStart(`redis-server on ${port} ended at start: ${tail}`);
  }
  // AOF rewrite/load must be finished before the server counts as ready.
  await waitFor(`redis on ${port} loaded`, async () =>
    (await redisCli(port, 'INFO', 'persistence')).includes('loading:0'),
  );
  const server: RedisServer = {
    ...d,
    async stop(signal) {
      await d.stop(signal);
      if (removeDirOnStop) rmSync(dir, { recursive: true, force: true });
    },
    port,
    dir,
    url: opts.password
      ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`
      : `redis://127.0.0.1:${port}`,
    ...(opts.password ? { password: opts.password } : {}),
    respawn: () => startRedis({ ...opts, dir, port, removeDirOnStop }),
    async restart({ signal = 'SIGTERM' } = {}) {
      await d.stop(signal);
      return startRedis({ ...opts, dir, port, removeDirOnStop });
    },
  };
  return server;
}

export interface RedisClusterHandle {
  /** The current server of each node (a supervisor may replace one after a crash). */
  readonly nodes: RedisServer[];
  readonly password?: string;
  readonly startupNodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Three masters, no replicas, on loopback: enough to prove every script stays in one slot. */
export async function startRedisCluster(
  count = 3,
  opts: Pick<RedisOptions, 'password' | 'appendonly'> = {},
): Promise<RedisClusterHandle> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < count; i++) {
    // The cluster bus uses port+10000, so pick ports whose bus port is free as well; either can
    // still be taken before the server binds it, so a node that ends at start gets other ports.
    for (let attempt = 1; ; attempt++) {
      let port = await freePort();
      while (port + 10000 > 65535 || !(await portIsFree(port + 10000))) port = await freePort();
      try {
        nodes.push(await startRedis({ ...opts, cluster: true, port }));
        break;
      } catch (err) {
        if (!(err instanceof RedisExitedAtStart) || attempt >= 3) throw err;
      }
    }
  }
  await run(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { env: opts.password ? { ...process.env, REDISCLI_AUTH: opts.password } : process.env },
  );
  await waitFor(
    'redis cluster state ok',
    async () => {
      for (const n of nodes) {
        if (!(await redisCli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
      }
      return true;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  return {
    nodes,
    ...(opts.password ? { password: opts.password } : {}),
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// OVSDB servers (OVN Northbound / Southbound)

export interface OvsdbServer extends Daemon {
  readonly port: number;
  /** `tcp:127.0.0.1:PORT`, as ovn-nbctl --db and our client take it. */
  readonly remote: string;
  readonly unixSocket: string;
  readonly dir: string;
  readonly ctl: string;
  readonly dbFile: string;
  /** Starts the same server again (same database file, port and sockets) after it ended by itself. */
  respawn(): Promise<OvsdbServer>;
}

export interface OvsdbServerOptions {
  schema?: string;
  dir?: string;
  name?: string;
  port?: number;
  /** Another ovsdb-server build (a probe compares versions); default the one on PATH. */
  binary?: string;
  /** More ovsdb-server flags, e.g. `--disable-file-column-diff`. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export async function startOvsdbServer(opts: OvsdbServerOptions = {}): Promise<OvsdbServer> {
  stopAllOnExit();
  const name = opts.name ?? 'nb';
  const removeDirOnStop = !opts.dir;
  const dir = resolve(opts.dir ?? makeTempDir(`vipres-${name}-`));
  mkdirSync(dir, { recursive: true });
  const dbFile = join(dir, `${name}.db`);
  if (!existsSync(dbFile)) await run('ovsdb-tool', ['create', dbFile, opts.schema ?? NB_SCHEMA]);
  const port = opts.port ?? (await freePort());
  const ctl = join(dir, `${name}.ctl`);
  const unixSocket = join(dir, `${name}.sock`);
  const d = spawnDaemon(
    `${name}-${port}`,
    opts.binary ?? 'ovsdb-server',
    [
      dbFile,
      `--remote=ptcp:${port}:127.0.0.1`,
      `--remote=punix:${unixSocket}`,
      `--pidfile=${join(dir, `${name}.pid`)}`,
      `--unixctl=${ctl}`,
      `--log-file=${join(dir, `${name}.log`)}`,
      ...(opts.extraArgs ?? []),
    ],
    dir,
    opts.env ? { env: opts.env } : {},
  );
  await waitFor(`ovsdb-server ${name} on ${port}`, async () => {
    await run('ovsdb-client', ['list-dbs', `tcp:127.0.0.1:${port}`], { timeout: 2000 });
    return true;
  });
  return {
    ...d,
    async stop(signal) {
      await d.stop(signal);
      if (removeDirOnStop) rmSync(dir, { recursive: true, force: true });
    },
    port,
    remote: `tcp:127.0.0.1:${port}`,
    unixSocket,
    dir,
    ctl,
    dbFile,
    respawn: () => startOvsdbServer({ ...opts, dir, port }),
  };
}

export const startNbServer = (opts: { dir?: string; port?: number } = {}) =>
  startOvsdbServer({ ...opts, schema: NB_SCHEMA, name: 'nb' });
export const startSbServer = (opts: { dir?: string; port?: number } = {}) =>
  startOvsdbServer({ ...opts, schema: SB_SCHEMA, name: 'sb' });

export interface RaftMember extends OvsdbServer {
  readonly raftPort: number;
}
export interface NbRaftCluster {
  readonly members: RaftMember[];
  /** Comma-separated remotes, as `ovn-nbctl --db=` takes them. */
  readonly remotes: string;
  leader(): Promise<RaftMember | undefined>;
  stop(): Promise<void>;
}

/** An N-member Raft cluster of the NB database on loopback. */
export async function startNbRaft(
  size = 3,
  server: Pick<OvsdbServerOptions, 'binary' | 'extraArgs'> = {},
): Promise<NbRaftCluster> {
  stopAllOnExit();
  const base = makeTempDir('vipres-nbraft-');
  const raftPorts: number[] = [];
  for (let i = 0; i < size; i++) raftPorts.push(await freePort());
  const members: RaftMember[] = [];
  for (let i = 0; i < size; i++) {
    const dir = join(base, `n${i + 1}`);
    mkdirSync(dir, { recursive: true });
    const dbFile = join(dir, 'nb.db');
    const self = `tcp:127.0.0.1:${raftPorts[i]}`;
    if (i === 0) await run('ovsdb-tool', ['create-cluster', dbFile, NB_SCHEMA, self]);
    else
      await run('ovsdb-tool', [
        'join-cluster',
        dbFile,
        'OVN_Northbound',
        self,
        `tcp:127.0.0.1:${raftPorts[0]}`,
      ]);
    const member = await startOvsdbServer({ ...server, dir, name: 'nb' });
    members.push({ ...member, raftPort: raftPorts[i]! });
  }
  const cluster: NbRaftCluster = {
    members,
    remotes: members.map((m) => m.remote).join(','),
    async leader() {
      for (const m of members) {
        if (!isAlive(m.pid)) continue;
        try {
          const { stdout } = await run('ovs-appctl', ['-t', m.ctl, 'cluster/status', 'OVN_Northbound'], {
            timeout: 2000,
          });
          if (/^Role: leader/m.test(stdout)) return m;
        } catch {}
      }
      return undefined;
    },
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
      rmSync(base, { recursive: true, force: true });
    },
  };
  await waitFor('NB raft leader', () => cluster.leader(), { timeoutMs: 20_000, intervalMs: 200 });
  return cluster;
}

export async function nbctl(remote: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ovn-nbctl', [`--db=${remote}`, '--timeout=10', ...args]);
  return stdout;
}
