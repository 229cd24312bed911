// `kubectl ko`: kube-ovn's plugin commands that the seed's walkthrough uses, `nbctl` and `sbctl`
// (and `trace`). Against the local stack they run ovn-nbctl / ovn-sbctl here with --db set to the
// stack's databases; against any other cluster they run in the ovn-central pod of kube-system that
// holds the Raft leader label, as kube-ovn's own kubectl-ko does.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { locateOvn, type OvnLocation } from './locate.ts';
import { traceFlow } from './trace.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const KUBE_OVN_NS = 'kube-system';

const USAGE = `usage: kubectl ko <command> [args]

commands:
  nbctl [ovn-nbctl options ...]   invoke ovn-nbctl against the OVN Northbound database
  sbctl [ovn-sbctl options ...]   invoke ovn-sbctl against the OVN Southbound database
  trace <namespace/pod> <target ip> [target mac] {icmp|tcp|udp} [target port]
                                  ovn-trace a packet from a pod (needs the southbound database)

The local stack (npm start) is found through the current kubeconfig's cluster (extension
ovn.vipres.dev) or .local/stack.json; any other cluster runs the command in its ovn-central pod.`;

/** kubectl's own rule: $KUBECONFIG (a list), else ~/.kube/config. */
function kubeconfigFiles(): { path: string; text: string }[] {
  const paths = process.env.KUBECONFIG
    ? process.env.KUBECONFIG.split(delimiter).filter(Boolean)
    : [join(process.env.HOME ?? homedir(), '.kube', 'config')];
  return paths.filter((p) => existsSync(p)).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
}

function stackFile() {
  const file = process.env.VIPRES_STACK_FILE ?? join(ROOT, '.local/stack.json');
  if (!existsSync(file)) return undefined;
  return { file, json: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> };
}

/** Runs a program with our stdio; resolves with its exit code. */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', (err) => {
      process.stderr.write(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? `error: ${cmd} is not installed (Debian: apt-get install ovn-central ovn-common)\n`
          : `error: ${cmd}: ${err.message}\n`,
      );
      done(1);
    });
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

function capture(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => done({ code: 1, stdout, stderr: err.message }));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

const kubectl = () => process.env.KUBECTL ?? 'kubectl';

/** kube-ovn's rule: the ovn-central pod labelled as the NB (or SB) Raft leader. */
async function leaderPod(db: 'nb' | 'sb'): Promise<string> {
  const r = await capture(kubectl(), [
    'get',
    'pod',
    '-n',
    KUBE_OVN_NS,
    '-l',
    `app=ovn-central,ovn-${db}-leader=true`,
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]);
  const pod = r.stdout.trim();
  if (r.code !== 0 || !pod)
    throw new Error(
      `no ovn-central pod labelled ovn-${db}-leader=true in ${KUBE_OVN_NS}: is this a kube-ovn cluster? ${r.stderr.trim()}`,
    );
  return pod;
}

async function ctl(loc: OvnLocation, db: 'nb' | 'sb', args: string[]): Promise<number> {
  const tool = db === 'nb' ? 'ovn-nbctl' : 'ovn-sbctl';
  if (loc.kind === 'cluster') {
    const pod = await leaderPod(db);
    return run(kubectl(), ['exec', pod, '-n', KUBE_OVN_NS, '-c', 'ovn-central', '--', tool, ...args]);
  }
  const remote = db === 'nb' ? loc.nb : loc.sb;
  if (!remote)
    throw new Error(
      `the local stack has no southbound database: the dataplane (node agent) is off; it runs when the stack runs as root (${loc.source})`,
    );
  return run(tool, [`--db=${remote}`, ...args]);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return cmd ? 0 : 2;
  }
  const loc = locateOvn(kubeconfigFiles(), stackFile());
  if (cmd === 'nbctl') return ctl(loc, 'nb', args);
  if (cmd === 'sbctl') return ctl(loc, 'sb', args);
  if (cmd === 'trace') return traceFlow(loc, args, { capture, run, kubectl: kubectl(), leaderPod });
  process.stderr.write(
    `error: unknown command "${cmd}" for "kubectl ko" (this plugin serves nbctl, sbctl, trace)\n`,
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
