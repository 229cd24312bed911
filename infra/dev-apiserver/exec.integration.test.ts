// pods/exec through the real kubectl (1.32, WebSocket v5 by default). The backend here runs the
// command on the host (the node agent's, which needs root and a dataplane, is covered by
// test/dataplane/seed-walkthrough.test.ts); what is tested is the API server's side: the upgrade,
// the channel framing, stdin and its EOF, the exit code on channel 3, and the refusals.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitStatus, parseExecQuery, pickProtocol } from './exec.ts';
import { type DevApiServer, type ExecBackend, ExecRefused, startDevApiServer } from './index.ts';
import { findKubectl } from './kubectl.ts';
import { acceptKey, encodeFrame } from './websocket.ts';

let server: DevApiServer;
let dir: string;
let kubectl: string;
const started: string[][] = [];

/** Runs commands on the host; refuses the pod `unwired` as the agent refuses a pod without netns. */
const hostBackend: ExecBackend = {
  check(r) {
    if (r.pod === 'unwired') throw new ExecRefused('pod default/unwired has no network namespace yet');
  },
  start(r) {
    started.push(r.command);
    const c = spawn(r.command[0]!, r.command.slice(1), {
      stdio: [r.stdin ? 'pipe' : 'ignore', 'pipe', r.stderr ? 'pipe' : 'ignore'],
    });
    return {
      stdin: c.stdin,
      stdout: c.stdout,
      stderr: c.stderr,
      exited: new Promise((resolve) => c.on('close', (code) => resolve(code ?? 1))),
      kill: () => c.kill('SIGKILL'),
    };
  },
};

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

beforeAll(async () => {
  kubectl = findKubectl();
  dir = mkdtempSync(join(tmpdir(), 'exec-'));
  server = await startDevApiServer({ dir, token: 't' });
  for (const p of ['busybox', 'unwired']) await server.api.apply(pod(p));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], input?: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      kubectl,
      ['--kubeconfig', server.kubeconfigPath, ...args],
      { timeout: 20_000, killSignal: 'SIGKILL', env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

describe('kubectl exec against the development API server', () => {
  it('says why when there is no dataplane, and finds no pod that does not exist', async () => {
    server.api.exec = undefined;
    const off = await run(['exec', 'busybox', '--', 'true']);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('(ServiceUnavailable): exec needs the local dataplane');
    server.api.exec = hostBackend;
    const missing = await run(['exec', 'nope', '--', 'true']);
    expect(missing.stderr).toContain('pods "nope" not found');
    const unwired = await run(['exec', 'unwired', '--', 'true']);
    expect(unwired.code).toBe(1);
    expect(unwired.stderr).toContain('(BadRequest): pod default/unwired has no network namespace yet');
    const container = await run(['exec', 'busybox', '-c', 'other', '--', 'true']);
    expect(container.stderr).toContain('container other is not valid for pod busybox');
    expect(started).toEqual([]);
  });

  it('streams stdout and stderr and returns the exit code', async () => {
    server.api.exec = hostBackend;
    const r = await run(['exec', 'busybox', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('err\n');
    expect(r.stderr).toContain('command terminated with exit code 3');
    expect(r.code).toBe(3);
    const ok = await run(['exec', 'busybox', '--', 'echo', 'hello world']);
    expect(ok).toMatchObject({ code: 0, stdout: 'hello world\n' });
  });

  it('passes stdin, and its end (v5 close channel); -t without a terminal falls back as kubectl does', async () => {
    server.api.exec = hostBackend;
    const big = `${'x'.repeat(200_000)}\n`;
    const r = await run(['exec', '-i', 'busybox', '--', 'wc', '-c'], big);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.trim()).toBe(String(big.length));
    const t = await run(['exec', '-it', 'busybox', '--', 'echo', 'tty'], '');
    expect(t.stdout).toBe('tty\n');
    expect(t.stderr).toContain('Unable to use a TTY');
  });

  it('answers the SPDY fallback with a Status that names the protocols it serves', async () => {
    server.api.exec = hostBackend;
    const before = started.length;
    const r = await run(['exec', 'busybox', '--', 'true'], '', {
      KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('serves exec over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) only');
    expect(started.length).toBe(before);
  });
});

describe('exec decisions', () => {
  it('reads the query as PodExecOptions and refuses what kube-apiserver refuses', () => {
    const q = new URLSearchParams('command=ip&command=addr&stdout=true&stdin=1&tty=false&container=c');
    expect(parseExecQuery('default', 'p', q)).toEqual({
      namespace: 'default',
      pod: 'p',
      container: 'c',
      command: ['ip', 'addr'],
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    expect(() => parseExecQuery('d', 'p', new URLSearchParams('stdout=true'))).toThrow('at least 1 command');
    expect(() => parseExecQuery('d', 'p', new URLSearchParams('command=x'))).toThrow('at least one of');
    expect(() => parseExecQuery('d', 'p', new URLSearchParams('command=x&tty=true&stderr=true'))).toThrow(
      'tty and stderr',
    );
  });

  it('reports a non-zero exit as the kubelet does', () => {
    expect(exitStatus(0)).toEqual({ metadata: {}, status: 'Success' });
    expect(exitStatus(2)).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
  });

  it('prefers the client order among the protocols it speaks', () => {
    expect(pickProtocol(['v5.channel.k8s.io', 'v4.channel.k8s.io'])).toBe('v5.channel.k8s.io');
    expect(pickProtocol(['v3.channel.k8s.io', 'v4.channel.k8s.io'])).toBe('v4.channel.k8s.io');
    expect(pickProtocol(['base64.channel.k8s.io'])).toBeUndefined();
  });

  it('frames as RFC 6455 says (its own handshake example; 7, 16 and 64 bit lengths)', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect([...encodeFrame(0x2, Buffer.from('ab'))]).toEqual([0x82, 2, 0x61, 0x62]);
    const mid = encodeFrame(0x2, Buffer.alloc(300));
    expect([mid[1], mid.readUInt16BE(2), mid.length]).toEqual([126, 300, 304]);
    const big = encodeFrame(0x2, Buffer.alloc(70_000));
    expect([big[1], Number(big.readBigUInt64BE(2)), big.length]).toEqual([127, 70_000, 70_010]);
  });
});
