// The functions as `functions/serve/node.ts` wires them (reservation API, /events with the real
// reconcilers, /admission reading Subnets from the API server), served over real HTTP, against a
// Redis and an OVN NB of this file's own (so a snapshot sees only this file's requests) and the
// development API server. `snapshot()` is the whole Redis (every key's value) and the NB tables the
// system writes, to prove that a refused request changed nothing.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createAdmissionRoutes } from '../../functions/admission/routes.ts';
import { createApp } from '../../functions/app.ts';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { type OvsdbServer, type RedisServer, startNbServer, startRedis } from '../../infra/local/services.ts';
import { type ControllerPorts, createControllerPorts } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import { encodeResourceEvent, signBodySync } from '../../shared/events/index.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';
import { type Answer, rawRequest, type Served, serveApp } from '../limits/http.ts';

export const API_TOKEN = 'fuzz-api-token';
export const RELAY_SECRET = 'fuzz-relay-secret';
export const EVENTS_TOKEN = 'fuzz-events-token';
export const ADMISSION_TOKEN = 'fuzz-admission-token';
/** The manual subnet the seed registers through /v1, with reservations `lb/a` and `lb/b`. */
export const MANUAL_SUBNET = 'manual';
/** Kubernetes objects the seed creates and reconciles. */
export const SEED = {
  subnet: 'ovn-default',
  vip: 'vip-seed',
  pod: { namespace: 'default', name: 'pod-seed' },
};

// The tables the reconcilers write (shared/ovn/nb).
const NB_TABLES = ['Logical_Switch', 'Logical_Switch_Port', 'Load_Balancer'] as const;

const typesOf = (redis: Redis, keys: string[]) => {
  const pipe = redis.pipeline();
  for (const k of keys) pipe.type(k);
  return pipe.exec();
};

/** A value as comparable text: strings in hex, hashes by field, sets sorted (zsets and lists keep their order). */
function canonical(type: string, v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return JSON.stringify(type === 'set' ? [...v].map(String).sort() : v);
  if (v && typeof v === 'object')
    return JSON.stringify(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  return String(v);
}

export interface FuzzStack {
  port: number;
  admin: Kube;
  request(r: Parameters<typeof rawRequest>[1]): Promise<Answer>;
  /** Redis (every key's type and value) and the NB tables, as one comparable text. */
  snapshot(): Promise<string>;
  stop(): Promise<void>;
}

export async function startFuzzStack(): Promise<FuzzStack> {
  const [redisServer, nbServer, api] = await Promise.all([
    startRedis(),
    startNbServer(),
    startTestApiServer(randomBytes(8).toString('hex')),
  ]);
  const stoppers: (() => Promise<unknown>)[] = [
    () => redisServer.stop(),
    () => nbServer.stop(),
    () => api.stop(),
  ];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => {});
  };
  try {
    return await build(redisServer, nbServer, api, stoppers, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

async function build(
  redisServer: RedisServer,
  nbServer: OvsdbServer,
  api: TestApiServer,
  stoppers: (() => Promise<unknown>)[],
  stop: () => Promise<void>,
): Promise<FuzzStack> {
  const controller: ControllerPorts = await createControllerPorts(
    readConfig({
      REDIS_URL: redisServer.url,
      OVN_NB_REMOTES: nbServer.remote,
      KUBECONFIG: api.server.kubeconfigPath,
      LOG_LEVEL: 'silent',
    }),
  );
  stoppers.push(() => controller.close());
  const app = createApp(controller, {
    apiToken: API_TOKEN,
    mounts: [
      {
        path: '/events',
        app: createEventRoutes({
          dispatch: createDispatch(controller.reconcile),
          secret: RELAY_SECRET,
          token: EVENTS_TOKEN,
        }),
      },
      {
        path: '/admission',
        app: createAdmissionRoutes({
          lookupSubnet: (name) => controller.kube.getSubnet(name),
          token: ADMISSION_TOKEN,
        }),
      },
    ],
  });
  const served: Served = await serveApp(app.fetch);
  stoppers.push(() => served.close());
  const redis = new Redis(redisServer.url);
  stoppers.push(async () => redis.disconnect());
  const nb = await OvsdbClient.connect({ remotes: [nbServer.remote], database: 'OVN_Northbound' });
  stoppers.push(async () => nb.close());
  const admin = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  stoppers.push(async () => admin.close());

  const request = (r: Parameters<typeof rawRequest>[1]) =>
    rawRequest(served.port, { timeoutMs: 15_000, ...r });

  const snapshot = async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    keys.sort();
    // Values, not DUMP: a read may advance the incremental rehash of a hash or set, which reorders
    // DUMP's output while the value stays the same.
    const types = ((await typesOf(redis, keys)) ?? []).map((r) => String(r[1]));
    const pipe = redis.pipeline();
    keys.forEach((k, i) => {
      if (types[i] === 'string') pipe.getBuffer(k);
      else if (types[i] === 'hash') pipe.hgetall(k);
      else if (types[i] === 'set') pipe.smembers(k);
      else if (types[i] === 'zset') pipe.zrange(k, '0', '-1', 'WITHSCORES');
      else if (types[i] === 'list') pipe.lrange(k, 0, -1);
      else pipe.type(k);
    });
    const values = (await pipe.exec()) ?? [];
    const redisText = keys.map((k, i) => `${k}=${types[i]}:${canonical(types[i]!, values[i]?.[1])}`);
    const rows = await nb.transact(NB_TABLES.map((table) => ({ op: 'select' as const, table, where: [] })));
    const nbText = rows.map((r, i) => {
      const sorted = [...((r as { rows?: { _uuid: unknown }[] }).rows ?? [])].sort((a, b) =>
        JSON.stringify(a._uuid) < JSON.stringify(b._uuid) ? -1 : 1,
      );
      return `${NB_TABLES[i]}=${JSON.stringify(sorted)}`;
    });
    return [...redisText, ...nbText].join('\n');
  };

  // Seed: a manual subnet with two reservations, and a reconciled Kubernetes Subnet, Vip and pod.
  const v1 = (method: string, path: string, body: unknown) =>
    request({
      method,
      path,
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const must = async (what: string, a: Promise<Answer>) => {
    const r = await a;
    if (r.status >= 300) throw new Error(`seed: ${what} answered ${r.status} ${r.text}`);
    return r;
  };
  await must('manual subnet', v1('POST', '/v1/subnets', { name: MANUAL_SUBNET, cidrBlock: '10.90.0.0/24' }));
  for (const owner of ['lb/a', 'lb/b'])
    await must(owner, v1('POST', `/v1/subnets/${MANUAL_SUBNET}/reservations`, { owner }));
  const objects = [
    {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: SEED.subnet },
      spec: { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', protocol: 'IPv4', default: true },
    },
    {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: SEED.vip },
      spec: { subnet: SEED.subnet },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: SEED.pod.name, namespace: SEED.pod.namespace },
      spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'node1' },
    },
  ];
  for (const o of objects) {
    const created = await admin.create(o.kind as 'Subnet', o as never);
    const msg = encodeResourceEvent(created as never, { action: 'add', source: 'https://seed' });
    await must(
      `event ${o.kind}`,
      request({
        method: 'POST',
        path: '/events',
        headers: { ...msg.headers, ...signBodySync(RELAY_SECRET, msg.body) },
        body: msg.body,
      }),
    );
  }
  return { port: served.port, admin, request, snapshot, stop };
}
