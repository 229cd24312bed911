// The conformance suite: every behaviour of behaviours.ts from kubectl 1.32, client-node and the
// Python client, one after the other against one development API server. Prints the table (the
// README's "How faithful is the development API server" comes from it) and fails on any row a
// client can express that does not pass.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl } from '../../../infra/dev-apiserver/kubectl.ts';
import { startTestApiServer, type TestApiServer } from '../dev-server.ts';
import { BEHAVIOURS } from './behaviours.ts';
import { KubectlClient, NodeClient } from './clients.ts';

const SCRIPT = join(new URL('.', import.meta.url).pathname, 'python_client.py');
type Result = 'pass' | `fail: ${string}` | 'n/a';
/** Debian's interpreter: Debian's packages are not on a pyenv or venv python3 earlier on PATH. */
const PYTHON = '/usr/bin/python3';

/** Debian's python3-kubernetes, installed as infra/local/run.sh installs packages when missing. */
function ensurePythonClient(): void {
  const has = () => {
    try {
      execFileSync(PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return;
  if (process.getuid?.() !== 0)
    throw new Error('the Python client is missing: sudo apt-get install -y python3-kubernetes');
  execFileSync('apt-get', ['install', '-y', '-qq', 'python3-kubernetes'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 120_000,
  });
  if (!has()) throw new Error('apt-get install python3-kubernetes did not make `import kubernetes` work');
}

let api: TestApiServer;
const results = new Map<string, { kubectl: Result; clientNode: Result; python: Result }>();

async function run(fn: (() => Promise<void>) | undefined): Promise<Result> {
  if (!fn) return 'n/a';
  try {
    await fn();
    return 'pass';
  } catch (err) {
    return `fail: ${(err as Error).message.slice(0, 300)}`;
  }
}

beforeAll(async () => {
  ensurePythonClient();
  // A short history so that the 410 rows need only a few writes.
  api = await startTestApiServer('conformance-token', { historyLimit: 8 });
  for (const ns of ['conf-kubectl', 'conf-node', 'conf-python'])
    await api.server.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}, 150_000);

afterAll(async () => {
  await api?.stop();
});

describe('conformance of the development API server, from three real clients', () => {
  it('passes every behaviour with every client that can express it, within 60 s', async () => {
    const started = Date.now();
    const kubeconfig = api.server.kubeconfigPath;
    const kubectl = new KubectlClient(kubeconfig, findKubectl(), 'conf-kubectl');
    const node = new NodeClient(kubeconfig, 'conf-node');
    const slow: string[] = [];
    for (const b of BEHAVIOURS) {
      const t0 = Date.now();
      const k = await run(b.kubectl && (() => (b.kubectl as NonNullable<typeof b.kubectl>)(kubectl)));
      const n = await run(b.clientNode && (() => (b.clientNode as NonNullable<typeof b.clientNode>)(node)));
      results.set(b.id, { kubectl: k, clientNode: n, python: 'n/a' });
      slow.push(`${b.id} ${Date.now() - t0} ms`);
    }
    // Not execFileSync: the API server runs in this process and must keep answering.
    const { stdout: out, stderr: pyLog } = await promisify(execFile)(
      PYTHON,
      [SCRIPT, kubeconfig, 'conf-python'],
      {
        timeout: 45_000,
        killSignal: 'SIGKILL',
        maxBuffer: 1 << 20,
      },
    );
    console.log(`python per case: ${pyLog.trim().split('\n').join(', ')}`);
    const python = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, Result>;
    for (const b of BEHAVIOURS) {
      const row = results.get(b.id);
      if (row && b.python) row.python = python[b.id] ?? 'fail: python_client.py has no case for this row';
    }
    const elapsed = Date.now() - started;
    console.log(`kubectl + client-node per row: ${slow.join(', ')}`);

    const cell = (r: Result) => (r === 'pass' ? 'pass' : r === 'n/a' ? 'n/a' : 'FAIL');
    const table = [
      '| Behaviour | kubectl 1.32 | client-node 1.4 | python3-kubernetes 22.6 |',
      '|---|---|---|---|',
      ...BEHAVIOURS.map((b) => {
        const r = results.get(b.id);
        return `| ${b.title} | ${cell(r?.kubectl ?? 'n/a')} | ${cell(r?.clientNode ?? 'n/a')} | ${cell(r?.python ?? 'n/a')} |`;
      }),
    ].join('\n');
    const summary = `${table}\n\n(${BEHAVIOURS.length} behaviours in ${(elapsed / 1000).toFixed(1)} s)`;
    console.log(summary);
    // `CONFORMANCE_TABLE=file npx vitest run test/kube/conformance` writes the README's table.
    if (process.env.CONFORMANCE_TABLE) writeFileSync(process.env.CONFORMANCE_TABLE, `${summary}\n`);

    const failures = [...results].flatMap(([id, r]) =>
      Object.entries(r)
        .filter(([, v]) => v.startsWith('fail'))
        .map(([client, v]) => `${id} / ${client}: ${v}`),
    );
    expect(failures).toEqual([]);
    // The Python script and the list agree on the rows.
    expect(Object.keys(python).sort()).toEqual(
      BEHAVIOURS.filter((b) => b.python)
        .map((b) => b.id)
        .sort(),
    );
    // Every row is expressed by at least two of the clients.
    for (const b of BEHAVIOURS)
      expect([b.kubectl, b.clientNode, b.python].filter(Boolean).length, b.id).toBeGreaterThanOrEqual(
        b.id === 'protobuf' ? 1 : 2,
      );
    expect(elapsed).toBeLessThan(60_000);
  }, 120_000);
});
