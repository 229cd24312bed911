// A restarted replica holds its port cache's snapshot back until it has taken its first event
// (infra/wiring/controller.ts): the monitor is not asked for before (the server counts none),
// events handled meanwhile read and write the server correctly, and once asked the cache loads and
// equals the server. Its own NB server, so the server's monitor count is this file's alone.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWholeApp } from '../../functions/serve/whole-app.ts';
import {
  makeTempDir,
  type OvsdbServer,
  type RedisServer,
  startNbServer,
  startRedis,
} from '../../infra/local/services.ts';
import { createControllerPorts } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import { encodeResourceEvent } from '../../shared/events/encode.ts';
import { NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

const dir = makeTempDir('vipres-deferred-');
let nb: OvsdbServer;
let client: OvsdbClient;
let writer: NorthboundWriter;
const LS = 'deferred-ls';

/** Monitors the NB server holds now, from its own count (`memory/show`). */
async function serverMonitors(): Promise<number> {
  const { stdout } = await promisify(execFile)('ovs-appctl', ['-t', nb.ctl, 'memory/show']);
  return Number(/monitors:(\d+)/.exec(stdout)?.[1] ?? 0);
}

const port = (name: string, i: number) => ({
  switchName: LS,
  name,
  mac: `00:00:00:dd:00:${i.toString(16).padStart(2, '0')}`,
  ips: [`10.41.0.${i}`],
  pod: name,
  namespace: 'deferred',
});

beforeAll(async () => {
  nb = await startNbServer({ dir: join(dir, 'nb') });
  client = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
  writer = new NorthboundWriter(client);
  await writer.ensureLogicalSwitch({ name: LS, cidrBlock: '10.41.0.0/16' });
  for (let i = 1; i <= 20; i++) await writer.ensurePort(port(`before-${i}`, i));
}, 60_000);

afterAll(async () => {
  client?.close();
  await nb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('PortCache.open with startAfter', () => {
  it('asks for no monitor until the gate opens; events meanwhile use the server; then it loads and matches', async () => {
    const c = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
    try {
      let open!: () => void;
      const gate = new Promise<void>((r) => {
        open = r;
      });
      const cache = PortCache.open(c, { startAfter: gate });
      const w = new NorthboundWriter(c, { portCache: cache });
      // Events handled before the gate: a read of a port that exists, a new port, a delete.
      expect((await w.getPort('before-3'))?.name).toBe('before-3');
      const made = await w.ensurePort(port('during-1', 101));
      expect((await writer.getPort('during-1'))?.uuid).toBe(made.uuid);
      expect(await w.deletePort('before-20')).toBe(true);
      expect(await writer.getPort('before-20')).toBeUndefined();
      // Several round trips later, still no monitor asked for.
      expect(cache.requestedSnapshot).toBe(false);
      expect(cache.ready).toBe(false);
      expect(await serverMonitors()).toBe(0);

      open();
      await expect.poll(() => cache.ready, { timeout: 10_000 }).toBe(true);
      expect(await serverMonitors()).toBe(1);
      const onServer = await writer.listPorts();
      expect(cache.size).toBe(onServer.length);
      for (const p of onServer) expect(cache.get(p.name)).toEqual(p);
      expect(cache.get('during-1')).toBeDefined();
      expect(cache.get('before-20')).toBeUndefined();
      await cache.close();
      await expect.poll(serverMonitors).toBe(0);
    } finally {
      c.close();
    }
  });

  it('a gate that fails still lets the cache load; closing before the gate opens never asks', async () => {
    const c = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
    try {
      const failed = PortCache.open(c, { startAfter: Promise.reject(new Error('gate failed')) });
      await expect.poll(() => failed.ready, { timeout: 10_000 }).toBe(true);
      expect(failed.get('before-1')?.name).toBe('before-1');
      await failed.close();

      let open!: () => void;
      const never = PortCache.open(c, {
        startAfter: new Promise<void>((r) => {
          open = r;
        }),
      });
      await never.close(); // returns at once: nothing was asked for
      open();
      await c.transact([]); // a round trip after the gate opened
      expect(never.requestedSnapshot).toBe(false);
      expect(never.ready).toBe(false);
      expect(await serverMonitors()).toBe(0);
    } finally {
      c.close();
    }
  });
});

describe('the controller wiring', () => {
  let redis: RedisServer;
  let api: TestApiServer;
  beforeAll(async () => {
    redis = await startRedis({ dir: join(dir, 'redis') });
    api = await startTestApiServer(randomBytes(8).toString('hex'));
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    await redis?.stop();
  });
  const config = () =>
    readConfig({
      REDIS_URL: redis.url,
      OVN_NB_REMOTES: nb.remote,
      KUBECONFIG: api.server.kubeconfigPath,
      LOG_LEVEL: 'silent',
    });

  it('asks for the port snapshot after the first handled event, not before', async () => {
    const ports = await createControllerPorts(config(), { portCacheDelayMs: 600_000 });
    try {
      // The replica answers and handles events through the server meanwhile.
      expect(await ports.nb.deletePort('no-such-port')).toEqual([]);
      // Lookups by pod and by parent ask the server for the matching rows only, and find them.
      const found = await ports.nb.findPorts({ pod: 'deferred/before-3' });
      expect(found.map((p) => [p.name, p.switchName, p.pod])).toEqual([
        ['before-3', LS, 'deferred/before-3'],
      ]);
      expect(await ports.nb.findPorts({ pod: 'deferred/before-3', vendor: 'other' })).toEqual([]);
      await writer.ensureVirtualPort({
        switchName: LS,
        name: 'deferred-vip',
        virtualIp: '10.41.1.1',
        parents: ['before-4', 'before-5'],
      });
      expect(await ports.nb.virtualPortsWithParent('before-5')).toEqual(['deferred-vip']);
      expect(await ports.nb.virtualPortsWithParent('before-6')).toEqual([]);
      await client.transact([]);
      expect(await serverMonitors()).toBe(0);
      ports.tookEvent();
      await expect.poll(serverMonitors, { timeout: 10_000 }).toBe(1);
    } finally {
      await ports.close();
    }
    await expect.poll(serverMonitors).toBe(0);
  });

  it('the whole app: an event handled on /events lets the snapshot be asked for', async () => {
    const app = await createWholeApp(
      readConfig({
        REDIS_URL: redis.url,
        OVN_NB_REMOTES: nb.remote,
        KUBECONFIG: api.server.kubeconfigPath,
        EVENTS_TOKEN: 'deferred',
        API_TOKEN: 'unused',
        LOG_LEVEL: 'silent',
      }),
      {},
      { portCacheDelayMs: 600_000 },
    );
    try {
      await client.transact([]);
      expect(await serverMonitors()).toBe(0);
      const ev = encodeResourceEvent(
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gone', namespace: 'deferred' } },
        { action: 'delete', source: 'https://127.0.0.1' },
      );
      const res = await app.app.request('/events', {
        method: 'POST',
        headers: { ...ev.headers, authorization: 'Bearer deferred' },
        body: ev.body,
      });
      expect(res.status).toBe(200);
      await expect.poll(serverMonitors, { timeout: 10_000 }).toBe(1);
    } finally {
      await app.ports.close();
    }
    await expect.poll(serverMonitors).toBe(0);
  });

  it('asks for it after the delay when no event comes', async () => {
    const ports = await createControllerPorts(config(), { portCacheDelayMs: 200 });
    try {
      await expect.poll(serverMonitors, { timeout: 10_000 }).toBe(1);
    } finally {
      await ports.close();
    }
  });
});
