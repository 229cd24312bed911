// The processes of the local stack and the tests: free loopback ports, private directories,
// daemons spawned and stopped by the pid we started (never by name), and a wait for conditions.
// infra/local/services.ts starts the real servers (Redis, OVSDB) with these.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (the kernel picks it; a race with another binder is possible but rare). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export function makeTempDir(prefix = 'vipres-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

/** Whether the process `pid` still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to one pid we started, then waits for it to go (escalating to SIGKILL). */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000) {
  registry.delete(pid);
  // A stop asked for through this module is not a crash: a supervisor must not restart it.
  requestedStops.add(pid);
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    while (isAlive(pid)) await sleep(20);
  }
}

/** How a daemon ended. `requested`: through stop()/stopPid(), not a crash or someone else's kill. */
export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly requested: boolean;
}

/** A daemon run as our child (not detached), so Ctrl-C on the terminal reaches it too. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has ended, however it ended. */
  readonly exited: Promise<DaemonExit>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const requestedStops = new Set<number>();

/** `exit code 1`, `signal SIGKILL`: the reason a supervisor logs. */
export const describeExit = (e: Pick<DaemonExit, 'code' | 'signal'>) =>
  e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;

export function spawnDaemon(
  name: string,
  cmd: string,
  args: string[],
  dir: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Daemon {
  stopAllOnExit();
  const logFile = join(dir, `${name}.out`);
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd ?? dir,
    stdio: ['ignore', out, out],
    env: opts.env ?? process.env,
  });
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  child.unref();
  registry.add(pid);
  const exited = new Promise<DaemonExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      registry.delete(pid);
      const requested = requestedStops.delete(pid);
      resolveExit({ code, signal, requested });
    });
  });
  return {
    name,
    pid,
    logFile,
    exited,
    async stop(signal = 'SIGTERM') {
      await stopPid(pid, signal);
      registry.delete(pid);
    },
  };
}

// Every pid this process started; stopped on exit so nothing outlives a test run or Ctrl-C.
const registry = new Set<number>();

/** The pids this process started and has not stopped yet, oldest first. */
export const startedPids = (): number[] => [...registry];
let hooked = false;
export function stopAllOnExit() {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const pid of registry) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    registry.clear();
  };
  process.on('exit', killAll);
}

// ---------------------------------------------------------------------------------------------
// Redis

export function readPid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}
