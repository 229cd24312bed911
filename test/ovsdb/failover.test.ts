// Failure handling against real servers: a 3-member Raft NB whose leader is killed during a stream
// of writes, and a server that stops answering (SIGSTOP) and must be left for another remote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NbRaftCluster,
  type OvsdbServer,
  sleep,
  startNbRaft,
  startNbServer,
  waitFor,
} from '../../infra/local/services.ts';
import { NorthboundWriter } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient, op, where } from '../../shared/ovsdb/index.ts';

// ovsdb-server's default Raft election timer (an election takes 1-2 of them).
const ELECTION_MS = 1000;

describe('Raft leader killed during a stream of writes', () => {
  let cluster: NbRaftCluster;
  beforeAll(async () => {
    cluster = await startNbRaft(3);
  }, 40_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('resumes on the new leader within the election time + 2 s; no write lost or applied twice', async () => {
    const client = await OvsdbClient.connect({
      remotes: cluster.members.map((m) => m.remote),
      database: 'OVN_Northbound',
      leaderOnly: true,
      inactivityProbeMs: 1000,
      requestTimeoutMs: 15_000,
    });
    const retriedOn: string[] = [];
    const nb = new NorthboundWriter(client, {
      maxAttempts: 50,
      onRetry: (_what, err) => retriedOn.push((err as Error).name),
    });
    const leader = (await cluster.leader())!;
    expect(client.remote).toBe(leader.remote);

    // A monitor kept across the failover: it must resume (monitor_cond_since) and miss nothing.
    const seen = new Map<string, string>();
    const resets: boolean[] = [];
    await client.monitor({
      tables: { Logical_Switch: { columns: ['name'] } },
      onUpdate(u, { reset }) {
        resets.push(reset);
        if (reset) seen.clear();
        for (const [id, ch] of Object.entries(u.Logical_Switch ?? {})) {
          if ('initial' in ch) seen.set(id, String(ch.initial.name));
          else if ('insert' in ch) seen.set(id, String(ch.insert.name));
          else if ('delete' in ch) seen.delete(id);
        }
      },
    });

    let killedAt = 0;
    let resumedAt = 0;
    let resumedOn = '';
    client.on('connected', (remote) => {
      if (killedAt && !resumedAt) {
        resumedAt = Date.now();
        resumedOn = remote;
      }
    });

    // Four writers streaming switch creations over the one connection, so some are in flight when
    // the leader dies (Logical_Switch has no name index: only the writer's wait guard keeps a
    // retried insert from creating a second row).
    const names: string[] = [];
    let stop = false;
    let writesBeforeKill = 0;
    let next = 0;
    const stream = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const name = `raft-w${next++}`;
          names.push(name);
          await nb.ensureLogicalSwitch({ name, cidrBlock: '10.40.0.0/16' });
          if (!killedAt) writesBeforeKill++;
        }
      }),
    );
    await waitFor('some writes', async () => writesBeforeKill >= 20);
    killedAt = Date.now();
    await leader.stop('SIGKILL');
    // Measure the election itself, to hold the client to "election time + 2 s".
    const newLeader = await waitFor('new leader', () => cluster.leader(), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    const electedAt = Date.now();
    await waitFor('resumed', async () => resumedAt > 0, { timeoutMs: 2 * ELECTION_MS + 4000 });
    const writtenAtResume = names.length;
    await waitFor('writes after resume', async () => names.length >= writtenAtResume + 20, {
      timeoutMs: 10_000,
    });
    stop = true;
    await stream;

    expect(resumedOn).toBe(newLeader.remote);
    // Four streams always have a request in flight: the kill cut some, and they were retried.
    expect(retriedOn).toContain('Disconnected');
    expect(resumedAt - killedAt).toBeLessThan(electedAt - killedAt + 2000);

    const [r] = await client.transact([op.select('Logical_Switch', [where('name', '!=', '')], ['name'])]);
    const counts = new Map<string, number>();
    for (const row of r?.rows ?? []) counts.set(String(row.name), (counts.get(String(row.name)) ?? 0) + 1);
    for (const name of names) expect(counts.get(name), name).toBe(1);
    expect(counts.size).toBe(names.length);
    // The monitor resumed from its last transaction id instead of starting over, and has it all.
    expect(resets[0]).toBe(true);
    expect(resets.slice(1)).not.toContain(true);
    await waitFor('monitor caught up', async () => seen.size === names.length);
    expect([...seen.values()].sort()).toEqual([...names].sort());
    client.close();
    console.log(
      `raft: ${writesBeforeKill} writes before kill, new leader after ${electedAt - killedAt} ms, client resumed after ${resumedAt - killedAt} ms, ${names.length} writes in all, retries after: ${retriedOn.join(',') || 'none'}`,
    );
  }, 40_000);

  it('leader-only skips a follower listed first; without it, a follower takes writes (forwarded)', async () => {
    const leader = (await waitFor('leader', () => cluster.leader(), { timeoutMs: 10_000 }))!;
    const alive = cluster.members.filter((m) => m.pid !== leader.pid && m.remote !== leader.remote);
    const follower = await waitFor('a live follower', async () => {
      for (const m of alive) {
        const probe = await OvsdbClient.connect({
          remotes: [m.remote],
          database: 'OVN_Northbound',
          requestTimeoutMs: 500,
        }).catch(() => undefined);
        probe?.close();
        if (probe) return m;
      }
      return undefined;
    });
    const remotes = [follower.remote, leader.remote];
    const onLeader = await OvsdbClient.connect({ remotes, database: 'OVN_Northbound', leaderOnly: true });
    const anyMember = await OvsdbClient.connect({ remotes, database: 'OVN_Northbound', leaderOnly: false });
    try {
      expect(onLeader.remote).toBe(leader.remote);
      expect(anyMember.remote).toBe(follower.remote);
      await anyMember.transact([op.insert('Logical_Switch', { name: 'via-follower' })]);
      const [r] = await onLeader.transact([
        op.select('Logical_Switch', [where('name', '==', 'via-follower')]),
      ]);
      expect(r?.rows).toHaveLength(1);
    } finally {
      onLeader.close();
      anyMember.close();
    }
  }, 30_000);
});

describe('a server that stops answering', () => {
  let a: OvsdbServer;
  let b: OvsdbServer;
  beforeAll(async () => {
    [a, b] = await Promise.all([startNbServer(), startNbServer()]);
  });
  afterAll(async () => {
    try {
      process.kill(a.pid, 'SIGCONT');
    } catch {}
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('is detected by the echo probe and left for the next remote', async () => {
    const client = await OvsdbClient.connect({
      remotes: [a.remote, b.remote],
      database: 'OVN_Northbound',
      inactivityProbeMs: 400,
      connectTimeoutMs: 1000,
      reconnect: { backoff: () => 50 },
    });
    expect(client.remote).toBe(a.remote);
    const reasons: string[] = [];
    client.on('disconnected', (_remote, reason) => reasons.push(reason));
    let movedAt = 0;
    client.on('connected', () => {
      movedAt = Date.now();
    });
    const stoppedAt = Date.now();
    process.kill(a.pid, 'SIGSTOP');
    await waitFor('moved to b', async () => client.remote === b.remote, { timeoutMs: 5000 });
    expect(reasons[0]).toMatch(/echo/);
    expect(movedAt - stoppedAt).toBeLessThan(2000);
    await client.transact([op.insert('Logical_Switch', { name: 'on-b' })]);
    const [r] = await client.transact([op.select('Logical_Switch', [where('name', '==', 'on-b')])]);
    expect(r?.rows).toHaveLength(1);
    await sleep(100);
    client.close();
  });
});
