// The node agent's part in `kubectl exec`, the kubelet's part on a real node: it runs the command
// with `ip netns exec` in the pod's network namespace. That is the pod's network view only (same
// filesystem, users and processes as the host), not a container.
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { type ExecBackend, type ExecProcess, ExecRefused, type ExecRequest } from '../dev-apiserver/exec.ts';

/** POSIX shell quoting, for `script -c` (it takes one command line). */
export const shellJoin = (argv: string[]) =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');

/** Without a terminal, the argv as is; with one, under util-linux `script`, which gives it a pty. */
export function execArgv(req: Pick<ExecRequest, 'command' | 'tty'>): string[] {
  return req.tty ? ['script', '-qefc', shellJoin(req.command), '/dev/null'] : req.command;
}

/** The exit code a shell would report: the code, or 128 + the signal's number. */
export function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal
    ? ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal]
    : 0;
  return 128 + (n ?? 0);
}

/** The terminal `script` made for the command: its child's stdin. Undefined when it is gone. */
function ptyOf(scriptPid: number): string | undefined {
  try {
    const kids = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/);
    const tty = readlinkSync(`/proc/${kids[0]}/fd/0`);
    return tty.startsWith('/dev/pts/') ? tty : undefined;
  } catch {
    return undefined;
  }
}

export interface PodExecSource {
  /** The pod's namespace when the agent has wired it. */
  wiredNetns(namespace: string, pod: string): string | undefined;
}

export function podExecBackend(agent: PodExecSource): ExecBackend {
  const netnsFor = (req: ExecRequest) => {
    const netns = agent.wiredNetns(req.namespace, req.pod);
    if (!netns)
      throw new ExecRefused(
        `pod ${req.namespace}/${req.pod} has no network namespace on the local dataplane yet: the node agent ` +
          'wires a pod once the handlers have given it an address (ovn.kubernetes.io/allocated=true)',
      );
    return netns;
  };
  return {
    check: (req) => void netnsFor(req),
    start(req): ExecProcess {
      const netns = netnsFor(req);
      const child = spawn('ip', ['netns', 'exec', netns, ...execArgv(req)], {
        stdio: [
          req.stdin ? 'pipe' : 'ignore',
          req.stdout ? 'pipe' : 'ignore',
          req.stderr ? 'pipe' : 'ignore',
        ],
        env: {
          ...process.env,
          PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`,
          ...(req.tty ? { TERM: 'xterm' } : {}),
        },
      });
      const exited = new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve(exitCode(code, signal)));
        // A background process may keep the pipes open: the exit code counts, its output may not.
        child.once('exit', (code, signal) => setTimeout(() => resolve(exitCode(code, signal)), 1000).unref());
      });
      return {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        exited,
        resize(cols, rows) {
          if (!req.tty || !child.pid) return;
          const pty = ptyOf(child.pid);
          // Setting the size on the terminal sends SIGWINCH to its foreground process, as kubelet's does.
          if (pty)
            spawn('stty', ['-F', pty, 'cols', String(cols), 'rows', String(rows)], { stdio: 'ignore' });
        },
        kill: () => child.kill('SIGKILL'),
      };
    },
  };
}
