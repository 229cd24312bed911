// Issue 12 item 5: two relay processes elect a leader through a coordination.k8s.io/v1 Lease on the
// development API server; only the leader lists, watches and delivers. The leader is killed with
// SIGKILL (no release) while Vips are being created; the other takes the lease over within the
// lease duration (plus one poll), relists, and every Vip made before, during and after the failover
// ends Ready on its own address with a clean audit. The resync is an hour, so only the new
// leader's list can have delivered what the dead leader had in flight.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep, spawnDaemon, waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { openAuditPorts } from '../../infra/wiring/audit.ts';
import { auditSystemSettled } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

const LEASE_MS = 4_000;
const RETRY_MS = 500;
const log: string[] = [];
let e: E2E;

beforeAll(async () => {
  e = await startE2E({
    replicas: 2,
    relays: 2,
    resync: '1h',
    election: { leaseDuration: `${LEASE_MS / 1000}s`, renewDeadline: '2s', retryPeriod: `${RETRY_MS}ms` },
    log: (line) => log.push(line),
  });
}, 90_000);
afterAll(async () => {
  await e?.stop();
});

interface Lease {
  metadata: { resourceVersion: string };
  spec: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number };
}
const lease = async () =>
  JSON.parse(await e.kubectl('get', 'lease', 'vip-relay', '-n', 'default', '-o', 'json')) as Lease;
const ready = (v: Vip) => readyCondition(v)?.status === 'True' && Boolean(v.status?.v4ip);
const logOf = (i: number) => readFileSync(e.stack.relays[i]!.logFile, 'utf8');
const leaderIndex = (holder: string | undefined) =>
  [0, 1].find((i) => holder !== undefined && e.stack.relayIdentity(i) === holder);

async function createVips(prefix: string, count: number, gapMs = 0): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(2, '0')}`;
    await e.apply(vipObject(name, { subnet: 'ovn-default' }));
    names.push(name);
    if (gapMs) await sleep(gapMs);
  }
  return names;
}

async function allReady(names: string[], timeoutMs: number): Promise<Vip[]> {
  return waitFor(
    `${names.length} Vips Ready`,
    async () => {
      const vips = (await e.kube.listVips()).filter((v) => names.includes(v.metadata.name));
      return vips.length === names.length && vips.every(ready) ? vips : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

describe('two relays electing a leader through a Lease', () => {
  it('one leads and delivers, the other waits; after kill -9 of the leader the other takes over and nothing is lost', async () => {
    const first = await lease();
    expect(first.spec.leaseDurationSeconds).toBe(LEASE_MS / 1000);
    const leader = leaderIndex(first.spec.holderIdentity);
    expect(leader, `holder ${first.spec.holderIdentity}`).toBeDefined();
    const follower = 1 - leader!;
    // Only the leader listed and watched; the follower waits for the lease.
    expect(logOf(leader!)).toContain('initial lists delivered');
    // The follower may still be starting on a loaded machine (a cold tsx cache in a fresh clone).
    await waitFor(
      'the follower to wait for the lease',
      async () => (logOf(follower).includes('leader election: waiting for the lease') ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(logOf(follower)).not.toContain('relay started');

    const before = await createVips('lead-before', 15);
    await allReady(before, 30_000);
    expect(logOf(follower)).not.toContain('relay started');

    // Vips keep coming while the leader dies: some are in its queue or in flight when it goes.
    const during = createVips('lead-during', 30, 40);
    await sleep(400);
    const killed = e.stack.relays[leader!]!;
    const killedIdentity = e.stack.relayIdentity(leader!)!;
    process.kill(killed.pid, 'SIGKILL');
    const killedAt = Date.now();

    const next = await waitFor(
      'another relay holding the lease',
      async () => {
        const l = await lease();
        const holder = l.spec.holderIdentity;
        return holder && holder !== killedIdentity ? l : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const takeoverMs = Date.now() - killedAt;
    // client-go's rule: the lease duration from when a candidate last saw it renewed, so at most
    // one poll (retry period, jittered up to 2.2x) later than the duration from the kill.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + RETRY_MS * 2.2 + 1_500);
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS * 2.2);
    expect(next.spec.leaseTransitions).toBe((first.spec.leaseTransitions ?? 0) + 1);
    console.log(
      `${next.spec.holderIdentity} took the lease over ${takeoverMs} ms after kill -9 of ${killedIdentity}`,
    );

    const duringNames = await during;
    const after = await createVips('lead-after', 15);
    const vips = await allReady([...before, ...duringNames, ...after], 60_000);

    // The new leader relisted (its own first list), with a one-hour resync.
    const newLeader = leaderIndex(next.spec.holderIdentity)!;
    const newLog = logOf(newLeader);
    expect(newLog).toContain('became the leader');
    expect(newLog).toContain('initial lists delivered');

    // The same final state as without a failure: one address each, all reserved, audit clean.
    const addresses = vips.map((v) => v.status!.v4ip!);
    expect(new Set(addresses).size).toBe(vips.length);
    for (const v of vips)
      expect(await e.allocator.get('ovn-default', `vip/${v.metadata.name}`), v.metadata.name).toMatchObject({
        v4: v.status!.v4ip,
      });
    expect(await e.allocator.audit('ovn-default')).toEqual([]);
    const ports = await openAuditPorts(
      readConfig({
        REDIS_URL: e.stack.redisUrl,
        OVN_NB_REMOTES: e.stack.nbRemote,
        KUBECONFIG: e.stack.kubeconfig,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const result = await auditSystemSettled(ports, { rounds: 2, delayMs: 500 });
      expect(result.drifts).toEqual([]);
    } finally {
      await ports.close();
    }

    // The killed relay was restarted by the stack as a new candidate (Kubernetes restarts the pod):
    // the lease stays where it went, and one relay leads.
    await waitFor(
      'the killed relay restarted',
      async () => log.some((l) => /^relay \d is back as pid/.test(l)),
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    expect(e.stack.relays[leader!]!.pid).not.toBe(killed.pid);
    await sleep(RETRY_MS * 3);
    expect((await lease()).spec.holderIdentity).toBe(next.spec.holderIdentity);

    // A follower's probe: ready (a healthy standby), and it says it follows and who leads.
    const port = await freePort();
    const standby = spawnDaemon(
      'relay-standby',
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'infra/relay/main.ts'),
        '--kubeconfig',
        e.stack.kubeconfig,
        '--sink',
        `${e.stack.functions[0]!.url}/events`,
        '--leader-elect',
        '--identity',
        'relay-standby',
        '--lease-namespace',
        'default',
        '--lease-duration',
        `${LEASE_MS / 1000}s`,
        '--renew-deadline',
        '2s',
        '--retry-period',
        `${RETRY_MS}ms`,
      ],
      e.stack.dir,
      {
        env: {
          ...process.env,
          RELAY_SECRET_FILE: join(e.stack.secretsDir, 'relay-secret'),
          HEALTH_PORT: String(port),
          HEALTH_HOST: '127.0.0.1',
        },
        cwd: ROOT,
      },
    );
    try {
      const probe = await waitFor(
        'the standby relay to report as follower',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          const text = res ? await res.text() : '';
          return res && text.includes('leader=relay-') ? { status: res.status, text } : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(probe).toEqual({
        status: 200,
        text: `ok\nlists: ok\napiserver: ok\nrole=follower identity=relay-standby leader=${next.spec.holderIdentity}\n`,
      });
    } finally {
      await standby.stop();
    }
    expect(readFileSync(standby.logFile, 'utf8')).not.toContain('relay started');
  }, 150_000);
});
