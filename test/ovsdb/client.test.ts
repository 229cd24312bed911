// The OVSDB client against real ovsdb-servers: transact with typed errors, monitors that see
// changes made by ovn-nbctl, unix sockets, echo, timeouts. Tables of the NB schema are used only as
// a convenient real schema; the client itself knows none of them.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  makeTempDir,
  nbctl,
  type OvsdbServer,
  sleep,
  startNbServer,
  waitFor,
} from '../../infra/local/services.ts';
import {
  applyModify,
  ConstraintViolation,
  columnKinds,
  mutation,
  NotConnected,
  namedUuid,
  OperationError,
  OvsdbClient,
  op,
  type Row,
  RpcError,
  set,
  setValues,
  Timeout,
  WaitFailed,
  where,
} from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

describe('OvsdbClient on a real ovsdb-server', () => {
  let client: OvsdbClient;
  beforeAll(async () => {
    client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  });
  afterAll(() => client.close());

  it('inserts and selects rows, with named uuids binding references inside one transaction', async () => {
    const ls = unique('ls');
    const [, ins] = await client.transact([
      op.insert(
        'Logical_Switch_Port',
        { name: `${ls}-p1`, addresses: set(['00:00:00:00:00:01 10.0.0.1']) },
        'p',
      ),
      op.insert('Logical_Switch', { name: ls, ports: set([namedUuid('p')]) }),
    ]);
    expect(ins?.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const [sel] = await client.transact([
      op.select('Logical_Switch', [where('name', '==', ls)], ['name', 'ports']),
    ]);
    expect(sel?.rows).toHaveLength(1);
    expect(setValues(sel?.rows?.[0]?.ports)).toHaveLength(1);
    expect(await nbctl(remote, 'lsp-get-addresses', `${ls}-p1`)).toContain('10.0.0.1');
  });

  it('surfaces per-operation errors as typed errors naming the failing operation', async () => {
    const ls = unique('ls');
    await client.transact([op.insert('Logical_Switch', { name: ls })]);
    // A wait guard that does not hold: the row exists, we claimed it did not.
    const err = await client
      .transact([
        op.wait('Logical_Switch', [where('name', '==', ls)], ['name'], []),
        op.insert('Logical_Switch', { name: ls }),
      ])
      .catch((e) => e);
    expect(err).toBeInstanceOf(WaitFailed);
    expect(err).toMatchObject({ index: 0, error: 'timed out', op: { op: 'wait', table: 'Logical_Switch' } });

    // Logical_Switch_Port.name is a unique index: a second row with the same name is refused.
    const port = unique('p');
    const insertPort = () =>
      client.transact([
        op.insert('Logical_Switch_Port', { name: port }, 'p'),
        op.mutate(
          'Logical_Switch',
          [where('name', '==', ls)],
          [mutation('ports', 'insert', set([namedUuid('p')]))],
        ),
      ]);
    await insertPort();
    const dup = await insertPort().catch((e) => e);
    expect(dup).toBeInstanceOf(ConstraintViolation);
    expect((dup as OperationError).index).toBe(2); // commit-time failure: one past the last op
    expect((dup as OperationError).details).toContain(port);

    const bad = await client.transact([op.select('No_Such_Table', [])]).catch((e) => e);
    expect(bad).toBeInstanceOf(OperationError);
    expect(bad.index).toBe(0);
  });

  it('delivers monitor updates for changes made by ovn-nbctl, as update2 diffs', async () => {
    const ls = unique('mon');
    const schema = await client.getSchema();
    const kinds = columnKinds(schema, 'Logical_Switch');
    const rows = new Map<string, Row>();
    const seen: string[] = [];
    const monitor = await client.monitor({
      tables: {
        Logical_Switch: { columns: ['name', 'other_config', 'ports'], where: [where('name', '==', ls)] },
      },
      onUpdate(updates, { reset }) {
        if (reset) rows.clear();
        for (const [id, change] of Object.entries(updates.Logical_Switch ?? {})) {
          if ('initial' in change || 'insert' in change) {
            rows.set(id, 'initial' in change ? change.initial : change.insert);
            seen.push('insert');
          } else if ('modify' in change) {
            rows.set(id, applyModify(rows.get(id) ?? {}, change.modify, kinds));
            seen.push('modify');
          } else {
            rows.delete(id);
            seen.push('delete');
          }
        }
      },
    });
    expect(rows.size).toBe(0);
    await nbctl(remote, 'ls-add', ls);
    await waitFor('insert seen', async () => rows.size === 1);
    await nbctl(remote, 'set', 'Logical_Switch', ls, 'other_config:subnet=10.9.0.0/16');
    await nbctl(remote, 'lsp-add', ls, `${ls}-a`);
    await nbctl(remote, 'lsp-add', ls, `${ls}-b`);
    await waitFor('two ports seen', async () => setValues([...rows.values()][0]?.ports).length === 2);
    const row = [...rows.values()][0]!;
    expect(row.name).toBe(ls);
    await nbctl(remote, 'lsp-del', `${ls}-a`);
    await waitFor('one port left', async () => setValues([...rows.values()][0]?.ports).length === 1);
    await nbctl(remote, 'ls-del', ls);
    await waitFor('delete seen', async () => rows.size === 0);
    expect(seen).toEqual(['insert', 'modify', 'modify', 'modify', 'modify', 'delete']);
    expect(monitor.lastTxnId).toMatch(/^[0-9a-f-]{36}$/);
    await monitor.cancel();
  });

  it('refuses a bad monitor request with the server error', async () => {
    const err = await client.monitor({ tables: { No_Such_Table: {} }, onUpdate() {} }).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
  });
});

describe('OvsdbClient connections', () => {
  let server: OvsdbServer;
  beforeAll(async () => {
    server = await startNbServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('connects over a unix socket', async () => {
    const c = await OvsdbClient.connect({
      remotes: [`unix:${server.unixSocket}`],
      database: 'OVN_Northbound',
    });
    try {
      const [r] = await c.transact([op.select('NB_Global', [])]);
      expect(Array.isArray(r?.rows)).toBe(true);
      expect(c.remote).toBe(`unix:${server.unixSocket}`);
    } finally {
      c.close();
    }
  });

  it('fails with NotConnected when no remote answers within the bound', async () => {
    const t0 = Date.now();
    const err = await OvsdbClient.connect({
      remotes: ['tcp:127.0.0.1:1'],
      database: 'OVN_Northbound',
      requestTimeoutMs: 300,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NotConnected);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('without reconnect, fails at once once the connection is gone', async () => {
    const own = await startNbServer();
    const c = await OvsdbClient.connect({
      remotes: [own.remote],
      database: 'OVN_Northbound',
      reconnect: { enabled: false },
      requestTimeoutMs: 5000,
    });
    try {
      await own.stop();
      await waitFor('drop seen', async () => !c.isConnected);
      const t0 = Date.now();
      await expect(c.transact([op.select('NB_Global', [])])).rejects.toBeInstanceOf(NotConnected);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      c.close();
    }
  });

  it('refuses a server that does not serve the database', async () => {
    const err = await OvsdbClient.connect({
      remotes: [server.remote],
      database: 'OVN_Southbound',
      requestTimeoutMs: 400,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NotConnected);
  });

  it('waits for a reconnect while the server restarts, then transacts', async () => {
    // Its own dir: the server is stopped and started again on the same database file.
    const own = await startNbServer({ dir: makeTempDir('vipres-nb-restart-') });
    const c = await OvsdbClient.connect({
      remotes: [own.remote],
      database: 'OVN_Northbound',
      reconnect: { backoff: () => 50 },
      requestTimeoutMs: 8000,
    });
    let drops = 0;
    c.on('disconnected', () => drops++);
    try {
      await own.stop();
      await waitFor('drop seen', async () => drops === 1);
      const pending = c.transact([op.insert('Logical_Switch', { name: 'after-restart' })]);
      await sleep(200);
      const again = await startNbServer({ dir: own.dir, port: own.port });
      try {
        await pending;
        const [r] = await c.transact([op.select('Logical_Switch', [where('name', '==', 'after-restart')])]);
        expect(r?.rows).toHaveLength(1);
      } finally {
        await again.stop();
        rmSync(own.dir, { recursive: true, force: true });
      }
    } finally {
      c.close();
    }
  });

  it('re-sends a monitor after a reconnect: a server that cannot resume sends the whole state again', async () => {
    // Its own dir: the server is stopped and started again on the same database file.
    const own = await startNbServer({ dir: makeTempDir('vipres-nb-restart-') });
    const c = await OvsdbClient.connect({
      remotes: [own.remote],
      database: 'OVN_Northbound',
      reconnect: { backoff: () => 50 },
    });
    const names = new Map<string, string>();
    const resets: boolean[] = [];
    try {
      await c.monitor({
        tables: { Logical_Switch: { columns: ['name'] } },
        onUpdate(u, { reset }) {
          resets.push(reset);
          if (reset) names.clear();
          for (const [id, ch] of Object.entries(u.Logical_Switch ?? {})) {
            if ('delete' in ch) names.delete(id);
            else if ('initial' in ch) names.set(id, String(ch.initial.name));
            else if ('insert' in ch) names.set(id, String(ch.insert.name));
          }
        },
      });
      await nbctl(own.remote, 'ls-add', 'before');
      await waitFor('before seen', async () => [...names.values()].includes('before'));
      await own.stop();
      const again = await startNbServer({ dir: own.dir, port: own.port });
      try {
        await nbctl(again.remote, 'ls-add', 'while-away');
        await waitFor(
          'state after reconnect',
          async () => [...names.values()].sort().join() === 'before,while-away',
        );
        // The restarted server cannot resume from our last txn id, so the resend was a full reset.
        expect(resets[0]).toBe(true);
        expect(resets.slice(1)).toContain(true);
      } finally {
        await again.stop();
        rmSync(own.dir, { recursive: true, force: true });
      }
    } finally {
      c.close();
    }
  });

  it('times out a request to a server that stopped answering', async () => {
    const own = await startNbServer();
    const c = await OvsdbClient.connect({
      remotes: [own.remote],
      database: 'OVN_Northbound',
      inactivityProbeMs: 0,
    });
    try {
      process.kill(own.pid, 'SIGSTOP');
      const err = await c.transact([op.select('NB_Global', [])], { timeoutMs: 300 }).catch((e) => e);
      expect(err).toBeInstanceOf(Timeout);
    } finally {
      process.kill(own.pid, 'SIGCONT');
      c.close();
      await own.stop();
    }
  });

  it('answers the server echo, so an idle connection outlives the server inactivity probe', async () => {
    const c = await OvsdbClient.connect({
      remotes: [server.remote],
      database: 'OVN_Northbound',
      inactivityProbeMs: 0,
    });
    let drops = 0;
    c.on('disconnected', () => drops++);
    try {
      await sleep(11_500); // the server probes after ~5 s idle and drops ~5 s later without a reply
      expect(drops).toBe(0);
      await c.echo();
      const [r] = await c.transact([op.select('NB_Global', [])]);
      expect(r?.rows).toBeDefined();
    } finally {
      c.close();
    }
  }, 20_000);

  it('closes cleanly: pending and later calls fail with a typed error', async () => {
    const c = await OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound' });
    c.close();
    await expect(c.transact([op.select('NB_Global', [])])).rejects.toMatchObject({ name: 'ClientClosed' });
  });
});
