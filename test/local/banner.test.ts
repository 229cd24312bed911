// Issue 21 item 7: the `npm start` banner tells the truth (every NB remote in the form
// `ovn-nbctl --db=` takes, each log and data location where it really is), and each function
// replica logs one structured line per event at info, naming itself.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackBanner, stackData, stackLogs } from '../../infra/local/banner.ts';
import { waitFor } from '../../infra/local/services.ts';
import { type Stack, startStack } from '../../infra/local/stack.ts';
import { createKube } from '../../shared/kube/index.ts';

const run = promisify(execFile);
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    nb: 'raft',
    replicas: 2,
    admission: false,
    dataplane: false,
    functionEnv: { LOG_LEVEL: 'info' },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the npm start banner', () => {
  it('gives ovn-nbctl every NB remote, and the command it shows works', async () => {
    const banner = stackBanner(stack, '/tmp/stack.json');
    const remotes = stack.nbRaft!.members.map((m) => m.remote);
    expect(remotes).toHaveLength(3);
    const line = banner.split('\n').find((l) => l.includes('ovn-nbctl --db='))!;
    const db = /--db=(\S+)/.exec(line)![1]!;
    expect(db.split(',')).toEqual(remotes);
    // As the banner shows it (the switch appears once the Subnet is reconciled).
    const shown = await waitFor(
      'ovn-default in ovn-nbctl show',
      async () => {
        const { stdout } = await run('ovn-nbctl', [`--db=${db}`, '--timeout=10', 'show', 'ovn-default']);
        return /switch .* \(ovn-default\)/.test(stdout) ? stdout : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(shown).toContain('ovn-default');
  });

  it('names log and data locations that exist, Redis and each NB member included', () => {
    const banner = stackBanner(stack, '/tmp/stack.json');
    const logs = stackLogs(stack);
    const files = [...logs, ...stackData(stack)].filter((l) => l.path.startsWith('/'));
    expect(logs.map((l) => l.what)).toEqual(expect.arrayContaining(['function replica 0', 'relay']));
    expect(logs.filter((l) => l.what.startsWith('OVN NB'))).toHaveLength(3);
    expect(logs.filter((l) => l.what.startsWith('Redis'))).toHaveLength(1);
    for (const f of files) {
      expect(existsSync(f.path), `${f.what}: ${f.path}`).toBe(true);
      expect(banner).toContain(f.path);
    }
  });
});

describe('one log line per event per replica', () => {
  it('a Vip event leaves an info line naming the object, the replica, the outcome and the duration', async () => {
    const kube = createKube({ kubeconfigPath: stack.kubeconfig });
    await kube.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'logged-vip' },
      spec: { subnet: 'ovn-default' },
    });
    const line = await waitFor(
      'an "event handled" line for Vip logged-vip',
      async () => {
        for (const f of stack.functions) {
          for (const text of readFileSync(f.logFile, 'utf8').split('\n')) {
            if (!text.startsWith('{')) continue;
            const l = JSON.parse(text) as Record<string, unknown>;
            if (l.msg === 'event handled' && l.key === 'Vip//logged-vip' && l.outcome === 'done') return l;
          }
        }
        return undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(line).toMatchObject({ level: 30, action: expect.any(String) });
    expect(['function-0', 'function-1']).toContain(line.replica);
    expect(typeof line.durationMs).toBe('number');
  });
});
