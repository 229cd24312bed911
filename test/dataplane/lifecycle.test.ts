// The node agent leaves nothing behind: not after stop(), and not after a kill -9 once the next
// run in the same directory has started (it removes what the dead run recorded, then rebuilds
// the pods' namespaces from the API).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../infra/local/services.ts';
import { cmdlineOf, listNetns } from '../../infra/node-agent/netns.ts';
import { readState } from '../../infra/node-agent/state.ts';
import { type Assembled, assemble, leftovers, lockOwner, msUntilPing } from './helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
let s: Assembled;

beforeAll(async () => {
  s = await assemble({ agent: false });
}, 60_000);
// (Agents wait for each other: the userspace datapath allows one per machine, hence the long timeouts.)
afterAll(async () => {
  await s?.stop();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The CLI as `npm start` would run it; resolves with its ready line. */
async function startChild(
  dir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; instance: string }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'infra/node-agent/main.ts'),
      '--dir',
      dir,
      '--nb',
      s.nb.remote,
      '--kubeconfig',
      s.api.kubeconfigPath,
      '--quiet',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const ready = await new Promise<{ instance: string }>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(JSON.parse(l)));
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return { child, instance: ready.instance };
}

describe('node agent lifecycle', () => {
  it('stop() removes every namespace, veth, OVS bridge/datapath tap, daemon and process it made', async () => {
    const agent = await s.startAgent({ dir: join(s.dir, 'agent-a') });
    await s.addPod({ name: 'tidy1', ip: '10.16.0.51', mac: '00:00:00:00:10:51' });
    await s.addPod({ name: 'tidy2', ip: '10.16.0.52', mac: '00:00:00:00:10:52' });
    await msUntilPing(agent, { pod: 'tidy1' }, '10.16.0.52', 5000);
    // Something a person started "in" the pod.
    const sleeper = agent.spawnIn('default', 'tidy1', ['sleep', '300']);
    await waitFor('sleeper in the pod', async () => alive(sleeper.pid!));
    const state = readState(agent.dir)!;
    expect(state.pids.length).toBe(5);
    expect(Object.keys(state.namespaces).sort()).toEqual([
      `vp-${agent.instance}-tidy1.default`,
      `vp-${agent.instance}-tidy2.default`,
    ]);
    expect((await leftovers(agent.instance, agent.bridge)).length).toBeGreaterThan(0);

    await agent.stop();
    expect(await leftovers(agent.instance, agent.bridge)).toEqual([]);
    await waitFor('sleeper ended', async () => !alive(sleeper.pid!));
    for (const pid of state.pids) expect(alive(pid) && cmdlineOf(pid).includes(agent.dir)).toBe(false);
    expect(lockOwner()).not.toBe(process.pid);
    expect(readState(agent.dir)).toBeUndefined();
    for (const p of ['tidy1', 'tidy2']) await s.deletePod(p);
  }, 150_000);

  it('after kill -9, the next run in the same directory removes what the dead run made and rebuilds the pods', async () => {
    const dir = join(s.dir, 'agent-b');
    await s.addPod({ name: 'crash1', ip: '10.16.0.61', mac: '00:00:00:00:10:61', wait: false });
    const { child, instance: old } = await startChild(dir);
    const oldNs = `vp-${old}-crash1.default`;
    await waitFor('the child wired crash1', async () => listNetns(oldNs).length === 1, { timeoutMs: 15_000 });
    const oldState = readState(dir)!;
    // What a crash will leave: the recorded namespace, the taps and the daemons (they outlive
    // their parent). Checked before the kill: once the child is dead, an agent of a test file
    // running alongside may take the lock over and clean up first, which is just as right.
    expect(Object.keys(oldState.namespaces)).toEqual([oldNs]);
    expect(await leftovers(old, oldState.bridge)).toEqual(
      expect.arrayContaining([`link ${oldState.bridge}`, `netns ${oldNs}`]),
    );
    expect(oldState.pids.every((p) => alive(p))).toBe(true);
    child.kill('SIGKILL');
    await waitFor('child gone', async () => child.exitCode !== null || child.signalCode !== null);

    const agent = await s.startAgent({ dir });
    expect(agent.instance).not.toBe(old);
    // (the datapath tap is there again: the new run's, which holds the lock)
    expect(await leftovers(old, oldState.bridge)).toEqual([]);
    for (const pid of oldState.pids) expect(alive(pid) && cmdlineOf(pid).includes(dir)).toBe(false);
    await agent.waitForPod('default', 'crash1');
    expect(listNetns(`vp-${agent.instance}-crash1.default`)).toHaveLength(1);
    await s.addPod({ name: 'crash2', ip: '10.16.0.62', mac: '00:00:00:00:10:62' });
    await msUntilPing(agent, { pod: 'crash2' }, '10.16.0.61', 5000);

    await agent.stop();
    expect(await leftovers(agent.instance, agent.bridge)).toEqual([]);
    expect(listNetns(`vp-${agent.instance}-`)).toEqual([]);
  }, 150_000);

  it('the CLI serves its probes and metrics, and on SIGTERM (Ctrl-C of npm start) removes everything and exits 0', async () => {
    await s.addPod({ name: 'term1', ip: '10.16.0.71', mac: '00:00:00:00:10:71', wait: false });
    const dir = join(s.dir, 'agent-c');
    const health = `http://127.0.0.1:${await freePort()}`;
    const { child, instance } = await startChild(dir, {
      HEALTH_PORT: new URL(health).port,
      HEALTH_HOST: '127.0.0.1',
    });
    await waitFor('the child wired term1', async () => listNetns(`vp-${instance}-term1`).length === 1, {
      timeoutMs: 15_000,
    });
    try {
      // The process's own endpoints: alive, ready (NB, its SB, the API server), and the pod counted.
      expect((await fetch(`${health}/livez`)).status).toBe(200);
      const ready = await waitFor('the agent ready', async () => {
        const r = await fetch(`${health}/readyz`);
        return r.status === 200 ? r.text() : undefined;
      });
      expect(ready).toMatch(/^ok\n/);
      let lastText = '';
      const wired = await waitFor(
        'the wired pods counted',
        async () => {
          // Every pod the agent wired (earlier tests' pods too): one namespace each.
          const namespaces = listNetns(`vp-${instance}-`).length;
          lastText = await (await fetch(`${health}/metrics`)).text();
          return namespaces > 0 && new RegExp(`^vip_node_pods_wired ${namespaces}$`, 'm').test(lastText)
            ? lastText
            : undefined;
        },
        { timeoutMs: 20_000 },
      ).catch((err) => {
        throw new Error(
          `${err.message}; /metrics said: ${lastText
            .split('\n')
            .filter((l) => l.startsWith('vip_'))
            .join(' | ')}`,
        );
      });
      expect(wired).toMatch(/^vip_holder_changes_total\b|# TYPE vip_holder_changes_total counter/m);
    } catch (err) {
      child.kill('SIGTERM'); // never leave an agent holding the machine's one datapath
      await new Promise((r) => child.once('exit', r));
      throw err;
    }
    const { bridge, pids } = readState(dir)!;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await leftovers(instance, bridge)).toEqual([]);
    for (const pid of pids) expect(alive(pid) && cmdlineOf(pid).includes(dir)).toBe(false);
    expect(lockOwner()).not.toBe(child.pid);
  }, 150_000);
});
