// /readyz follows the dependencies: stopping Redis or the NB server (by pid) turns it false within
// seconds, starting them again turns it true; /livez stays true throughout (a restart of the
// process would not bring a dependency back). The functions' own servers, so the run's shared ones
// are never stopped.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../functions/app.ts';
import { type HealthServer, startHealthServer } from '../../infra/health/server.ts';
import {
  makeTempDir,
  type OvsdbServer,
  type RedisServer,
  startNbServer,
  startRedis,
  waitFor,
} from '../../infra/local/services.ts';
import { type ControllerPorts, createControllerPorts } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import { runChecks } from '../../shared/health/readiness.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

let api: TestApiServer;
let redis: RedisServer;
let nb: OvsdbServer;
let ports: ControllerPorts;
let health: HealthServer;
let app: ReturnType<typeof createApp>;
const dir = makeTempDir('vipres-probes-');

beforeAll(async () => {
  mkdirSync(join(dir, 'redis'));
  mkdirSync(join(dir, 'nb'));
  redis = await startRedis({ dir: join(dir, 'redis') });
  nb = await startNbServer({ dir: join(dir, 'nb') });
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  ports = await createControllerPorts(
    readConfig({
      REDIS_URL: redis.url,
      OVN_NB_REMOTES: nb.remote,
      KUBECONFIG: api.server.kubeconfigPath,
      LOG_LEVEL: 'silent',
    }),
  );
  health = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => runChecks(ports.checks) });
  app = createApp(ports, { apiToken: 'unused' });
}, 60_000);

afterAll(async () => {
  await health?.close();
  await ports?.close();
  await api?.stop();
  await redis?.stop();
  await nb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const status = async (path: string) => (await fetch(`http://127.0.0.1:${health.port}${path}`)).status;
/** Polls until /readyz (health port and the functions app) answers `want`; returns the ms it took. */
async function readyBecomes(want: 200 | 503, what: string): Promise<number> {
  const start = Date.now();
  await waitFor(
    what,
    async () => (await status('/readyz')) === want && (await app.request('/readyz')).status === want,
    { timeoutMs: 20_000 },
  );
  return Date.now() - start;
}

describe('/livez and /readyz', () => {
  it('are both 200 with every dependency up', async () => {
    expect(await status('/livez')).toBe(200);
    expect(await status('/healthz')).toBe(200);
    expect(await status('/readyz')).toBe(200);
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, checks: { redis: 'ok', nb: 'ok', apiserver: 'ok' } });
    expect((await app.request('/livez')).status).toBe(200);
  });

  it('/readyz turns false within seconds of Redis stopping and true once it is back', async () => {
    await redis.stop();
    expect(await readyBecomes(503, 'not ready without Redis')).toBeLessThan(5_000);
    expect(await status('/livez')).toBe(200);
    const body = (await (await app.request('/readyz')).json()) as { checks: Record<string, string> };
    expect(body.checks.redis).not.toBe('ok');
    expect(body.checks.nb).toBe('ok');
    redis = await redis.respawn();
    expect(await readyBecomes(200, 'ready with Redis back')).toBeLessThan(10_000);
  }, 40_000);

  it('/readyz turns false within seconds of the NB server stopping and true once it is back', async () => {
    await nb.stop();
    expect(await readyBecomes(503, 'not ready without NB')).toBeLessThan(5_000);
    expect(await status('/livez')).toBe(200);
    const body = (await (await app.request('/readyz')).json()) as { checks: Record<string, string> };
    expect(body.checks.nb).not.toBe('ok');
    expect(body.checks.redis).toBe('ok');
    nb = await nb.respawn();
    expect(await readyBecomes(200, 'ready with NB back')).toBeLessThan(10_000);
  }, 40_000);
});
