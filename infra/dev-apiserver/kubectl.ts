// Finds a kubectl for tests and the README: the one on PATH, else Debian's `kubernetes-client`
// unpacked (apt-get download + dpkg -x, no install, no root needed for the unpack) into
// .cache/kubectl/. Also runs kubectl with a kubeconfig and a timeout, killing only what it spawned.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

const CACHE = resolve(new URL('../../.cache/kubectl', import.meta.url).pathname);

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Unpacks Debian's kubectl into the cache folder (once) and returns its path. Each caller works in
 * its own temporary folder and moves the result into place, so parallel test workers on a fresh
 * machine do not trip over each other.
 */
export function unpackDebianKubectl(cacheDir = CACHE): string {
  const bin = join(cacheDir, 'root', 'usr', 'bin', 'kubectl');
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'unpack-'));
  try {
    execFileSync('apt-get', ['download', 'kubernetes-client'], { cwd: work, stdio: 'pipe' });
    const deb = readdirSync(work).find((f) => f.startsWith('kubernetes-client') && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download kubernetes-client left no .deb in ${work}`);
    execFileSync('dpkg', ['-x', join(work, deb), join(work, 'root')], { stdio: 'pipe' });
    try {
      renameSync(join(work, 'root'), join(cacheDir, 'root'));
    } catch (err) {
      if (!existsSync(bin)) throw err; // another worker won the race: use its copy
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(bin)) throw new Error(`no kubectl in Debian's kubernetes-client (looked for ${bin})`);
  return bin;
}

/** kubectl on PATH (or $KUBECTL), else the Debian one unpacked into .cache/kubectl/. */
export function findKubectl(): string {
  const fromEnv = process.env.KUBECTL;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return onPath('kubectl') ?? unpackDebianKubectl();
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one kubectl command to completion (bounded by timeoutMs); never throws on exit codes. */
/**
 * `--kubeconfig` and a discovery cache of this server's own. kubectl caches discovery per
 * host:port under ~/.kube/cache for minutes; servers of successive tests reuse ports, so a shared
 * cache would show one server the resources of another.
 */
export function kubectlBase(kubeconfig: string): string[] {
  return ['--kubeconfig', kubeconfig, '--cache-dir', join(dirname(kubeconfig), '.kubectl-cache')];
}

export function runKubectl(
  kubeconfig: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string; kubectl?: string } = {},
): Promise<KubectlResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      opts.kubectl ?? findKubectl(),
      [...kubectlBase(kubeconfig), ...args],
      { timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Starts a long-running kubectl (e.g. `get -w`); the caller stops it with `child.kill()`. */
export function spawnKubectl(kubeconfig: string, args: string[], kubectl = findKubectl()): ChildProcess {
  return spawn(kubectl, [...kubectlBase(kubeconfig), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The client's minor version (32 for v1.32). */
export function kubectlMinor(kubectl = findKubectl()): number {
  const out = execFileSync(kubectl, ['version', '--client', '-o', 'json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  return Number.parseInt((JSON.parse(out) as { clientVersion: { minor: string } }).clientVersion.minor, 10);
}

/**
 * Flags `kubectl apply` needs here: kubectl before 1.26 validates on the client with an OpenAPI
 * v2 document, which this server does not serve; newer ones let the server validate.
 */
export function applyFlags(kubectl = findKubectl()): string[] {
  return kubectlMinor(kubectl) < 26 ? ['--validate=false'] : [];
}
