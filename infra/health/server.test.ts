// The probe endpoints of the relay and the holder sync: live at once, ready only when told.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { healthListenFromEnv, startHealthServer } from './server.ts';

describe('health server', () => {
  it('answers /healthz at once, /readyz 503 until ready and 200 after, 404 elsewhere', async () => {
    let ready = false;
    const h = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => ready });
    try {
      const get = async (path: string) => (await fetch(`http://127.0.0.1:${h.port}${path}`)).status;
      expect(await get('/healthz')).toBe(200);
      expect(await get('/readyz')).toBe(503);
      ready = true;
      expect(await get('/readyz?verbose')).toBe(200);
      expect(await get('/metrics')).toBe(404);
    } finally {
      await h.close();
    }
  });

  it('adds the detail line to /readyz (a relay follower is ready and says so)', async () => {
    const h = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      ready: () => true,
      detail: () => 'role=follower leader=relay-a',
    });
    try {
      const res = await fetch(`http://127.0.0.1:${h.port}/readyz`);
      expect([res.status, await res.text()]).toEqual([200, 'ok\nrole=follower leader=relay-a\n']);
      expect(await (await fetch(`http://127.0.0.1:${h.port}/healthz`)).text()).toBe('ok\n');
    } finally {
      await h.close();
    }
  });

  it('serves /livez, a /readyz naming each check, and its own registry on /metrics', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'vip_test_total', help: 'a test counter', registers: [registry] });
    counter.inc(3);
    let redis = 'ok';
    const h = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      ready: async () => ({ ready: redis === 'ok', checks: { redis, nb: 'ok' } }),
      registry,
    });
    try {
      const get = (path: string) => fetch(`http://127.0.0.1:${h.port}${path}`);
      expect((await get('/livez')).status).toBe(200);
      const ready = await get('/readyz');
      expect([ready.status, await ready.text()]).toEqual([200, 'ok\nredis: ok\nnb: ok\n']);
      redis = 'connection refused';
      const not = await get('/readyz');
      expect([not.status, await not.text()]).toEqual([503, 'not ready\nredis: connection refused\nnb: ok\n']);
      expect((await get('/livez')).status).toBe(200);
      const metrics = await get('/metrics');
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await metrics.text()).toMatch(/^vip_test_total 3$/m);
    } finally {
      await h.close();
    }
  });

  it('listens only when HEALTH_PORT is set, and refuses a bad port', () => {
    expect(healthListenFromEnv({})).toBeUndefined();
    expect(healthListenFromEnv({ HEALTH_PORT: '8081' })).toEqual({ port: 8081, host: '0.0.0.0' });
    expect(healthListenFromEnv({ HEALTH_PORT: '8081', HEALTH_HOST: '127.0.0.1' })?.host).toBe('127.0.0.1');
    expect(() => healthListenFromEnv({ HEALTH_PORT: 'http' })).toThrow(
      /HEALTH_PORT "http" is not a port number/,
    );
    expect(() => healthListenFromEnv({ HEALTH_PORT: '70000' })).toThrow(/not a port number/);
  });
});
