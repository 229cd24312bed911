// The local stack heals like a cluster would: Redis, OVN NB and a function replica are each killed
// by pid with SIGKILL (from outside, as the OOM killer or a crash would), the stack restarts each on
// the same port and data, says so in its log with the reason, and the system carries on. Vips made
// before the kills keep their first address; Vips made between and after are Ready; the audit is clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { openAuditPorts } from '../../infra/wiring/audit.ts';
import { auditSystemSettled } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;
const log: string[] = [];
beforeAll(async () => {
  // A short resync: deliveries that failed while a daemon was down come back soon.
  e = await startE2E({ replicas: 2, resync: '5s', log: (line) => log.push(line) });
}, 60_000);
afterAll(async () => {
  await e?.stop();
});

const ready = (v: Vip) => readyCondition(v)?.status === 'True' && Boolean(v.status?.v4ip);

async function createVips(prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await e.apply(vipObject(`${prefix}-${i}`, { subnet: 'ovn-default' }));
}

async function killAndAwaitRestart(label: string, pid: () => number): Promise<string> {
  const before = pid();
  process.kill(before, 'SIGKILL');
  const back = await waitFor(
    `${label} restarted`,
    async () => log.find((l) => l.startsWith(`${label} is back as pid`) && !l.endsWith(` ${before}`)),
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  expect(pid()).not.toBe(before);
  // One line per restart, with the reason.
  expect(log).toContain(
    log.find((l) => l.startsWith(`${label} (pid ${before}) ended: signal SIGKILL; restarting it`)),
  );
  return back;
}

describe('the local stack heals', () => {
  it('restarts Redis, NB and a function replica killed by pid, and nothing is lost', async () => {
    const stack = e.stack;
    await createVips('heal-a', 4);
    const first = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const v = await e.waitVip(`heal-a-${i}`, ready, 'Ready', 20_000);
      first.set(v.metadata.name, v.status!.v4ip!);
    }
    const redisPort = stack.redis!.port;
    const nbPort = stack.nb!.port;
    const replicaPort = stack.functions[0]!.port;

    await killAndAwaitRestart('Redis', () => stack.redis!.pid);
    expect(stack.redis!.port).toBe(redisPort);
    await createVips('heal-b', 2);

    await killAndAwaitRestart('OVN NB', () => stack.nb!.pid);
    expect(stack.nb!.port).toBe(nbPort);
    await createVips('heal-c', 2);

    await killAndAwaitRestart('function replica 0', () => stack.functions[0]!.pid);
    expect(stack.functions[0]!.port).toBe(replicaPort);
    await createVips('heal-d', 2);

    const names = [...first.keys(), ...['b', 'c', 'd'].flatMap((p) => [0, 1].map((i) => `heal-${p}-${i}`))];
    const after = new Map<string, string>();
    for (const name of names) after.set(name, (await e.waitVip(name, ready, 'Ready', 45_000)).status!.v4ip!);
    // The first addresses are unchanged, and no two Vips share one.
    for (const [name, address] of first) expect(after.get(name), name).toBe(address);
    expect(new Set(after.values()).size).toBe(names.length);
    // Redis kept them (AOF across the kill): the allocator's record agrees with every Vip.
    for (const [name, address] of after)
      expect(await e.allocator.get('ovn-default', `vip/${name}`), name).toMatchObject({ v4: address });

    const ports = await openAuditPorts(
      readConfig({
        REDIS_URL: stack.redisUrl,
        OVN_NB_REMOTES: stack.nbRemote,
        KUBECONFIG: stack.kubeconfig,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const result = await auditSystemSettled(ports, { rounds: 2, delayMs: 500 });
      expect(result.drifts).toEqual([]);
    } finally {
      await ports.close();
    }
    console.log(log.filter((l) => /ended:| is back /.test(l)).join('\n'));
    // Exactly one restart each: no restart loop.
    expect(log.filter((l) => / is back as pid /.test(l))).toHaveLength(3);
  }, 90_000);
});
