// The reservation API through app.request(), backed by the real Redis allocator. Every error
// reason is reached over HTTP, and a failed request changes nothing.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../functions/app.ts';
import { freePort } from '../../infra/local/services.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';

const TOKEN = 'test-token-123';
let redis: Redis;
let app: ReturnType<typeof createApp>;
const sub = `api-${process.pid}-${Date.now().toString(36)}`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  app = createApp({ allocator: createRedisAllocator(redis) }, { apiToken: TOKEN });
});
afterAll(() => redis.disconnect());

const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};

const randomMac = () =>
  [
    '02',
    ...Array.from({ length: 5 }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ),
  ]
    .join(':')
    .toUpperCase();

describe('reservation API', () => {
  it('healthz and the OpenAPI document need no token', async () => {
    expect((await call('GET', '/healthz', undefined, null)).status).toBe(200);
    const doc = await call('GET', '/openapi.json', undefined, null);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/subnets',
        '/v1/subnets/{name}',
        '/v1/subnets/{subnet}/reservations',
        '/v1/subnets/{subnet}/reservations/{owner}',
      ]),
    );
    expect(doc.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('401 Unauthorized without a token or with a wrong one, with a helpful message', async () => {
    const none = await call('GET', `/v1/subnets/${sub}`, undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.reason).toBe('Unauthorized');
    expect(none.body.message).toContain('Authorization: Bearer');
    const wrong = await call('POST', '/v1/subnets', { name: sub, cidrBlock: '10.50.0.0/24' }, 'nope');
    expect([wrong.status, wrong.body.reason]).toEqual([401, 'Unauthorized']);
    expect((await call('GET', `/v1/subnets/${sub}`)).body.reason).toBe('SubnetNotFound'); // nothing created
  });

  it('register, reserve dynamic and fixed, get, list, release', async () => {
    const reg = await call('POST', '/v1/subnets', {
      name: sub,
      cidrBlock: '10.50.0.0/24,FD00:50::/64',
      excludeIps: ['10.50.0.2..10.50.0.9'],
    });
    expect(reg.status).toBe(200);
    expect(reg.body).toMatchObject({
      cidrBlock: '10.50.0.0/24,fd00:50::/64',
      gateway: '10.50.0.1,fd00:50::1',
    });

    const a = await call('POST', `/v1/subnets/${sub}/reservations`, { owner: 'lb/a' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ subnet: sub, owner: 'lb/a', v4ip: '10.50.0.10', v6ip: 'fd00:50::2' });
    expect(a.body.macAddress).toMatch(/^00:00:00:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/);
    const taken = await call('POST', `/v1/subnets/${sub}/reservations`, { owner: 'vip/a' });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ reason: 'ManagedByKubernetes', details: { owner: 'vip/a' } });
    const again = await call('POST', `/v1/subnets/${sub}/reservations`, { owner: 'lb/a' });
    expect([again.status, again.body]).toEqual([200, a.body]);

    const mac = randomMac();
    const b = await call('POST', `/v1/subnets/${sub}/reservations`, {
      owner: 'lb/b',
      v4ip: '10.50.0.5',
      v6ip: 'FD00:50::AB',
      macAddress: mac.toLowerCase(),
    });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ v4ip: '10.50.0.5', v6ip: 'fd00:50::ab', macAddress: mac });

    const got = await call('GET', `/v1/subnets/${sub}/reservations/${encodeURIComponent('lb/b')}`);
    expect([got.status, got.body]).toEqual([200, b.body]);

    const p1 = await call('GET', `/v1/subnets/${sub}/reservations?limit=1`);
    expect(p1.body.items.map((r: { owner: string }) => r.owner)).toEqual(['lb/a']);
    const p2 = await call('GET', `/v1/subnets/${sub}/reservations?limit=1&cursor=${p1.body.nextCursor}`);
    expect(p2.body.items.map((r: { owner: string }) => r.owner)).toEqual(['lb/b']);
    expect(p2.body.nextCursor).toBeUndefined();

    const s = await call('GET', `/v1/subnets/${sub}`);
    expect(s.body.status).toMatchObject({
      v4usingIPs: 2,
      v4usingIPrange: '10.50.0.5,10.50.0.10',
      v6usingIPs: 2,
    });
    expect(s.body.status.v4availableIPs).toBe(254 - 9 - 1);

    const rel = await call('DELETE', `/v1/subnets/${sub}/reservations/${encodeURIComponent('lb/b')}`);
    expect([rel.status, rel.body]).toEqual([200, { released: true }]);
    const rel2 = await call('DELETE', `/v1/subnets/${sub}/reservations/${encodeURIComponent('lb/b')}`);
    expect([rel2.status, rel2.body]).toEqual([200, { released: false }]);
    const gone = await call('GET', `/v1/subnets/${sub}/reservations/${encodeURIComponent('lb/b')}`);
    expect([gone.status, gone.body.reason]).toEqual([404, 'ReservationNotFound']);
  });

  it('every error reason, with status and a message, and nothing changes', async () => {
    const name = `${sub}-err`;
    await call('POST', '/v1/subnets', { name, cidrBlock: '10.51.0.0/30' }); // only .2 is free
    const before = await call('GET', `/v1/subnets/${name}/reservations`);
    const r = (body: unknown) => call('POST', `/v1/subnets/${name}/reservations`, body);
    const held = await r({ owner: 'holder', v4ip: '10.51.0.2' });
    expect(held.status).toBe(201);
    const mac = randomMac();
    await call('POST', `/v1/subnets/${sub}/reservations`, { owner: 'mac-holder', macAddress: mac });

    const cases: [string, Promise<{ status: number; body: { reason: string; message: string } }>, number][] =
      [
        ['SubnetNotFound', call('POST', '/v1/subnets/nope/reservations', { owner: 'x' }), 404],
        ['AddressOutOfRange', r({ owner: 'x', v4ip: '10.52.0.1' }), 400],
        ['AddressConflict', r({ owner: 'x', v4ip: '10.51.0.2' }), 409],
        ['SubnetFull', r({ owner: 'x' }), 409],
        ['InvalidAddress', r({ owner: 'x', v4ip: '10.51.0.256' }), 400],
        ['InvalidMAC', r({ owner: 'x', macAddress: '00:11:22:33:44' }), 400],
        [
          'MACConflict',
          call('POST', `/v1/subnets/${sub}/reservations`, { owner: 'y', macAddress: mac }),
          409,
        ],
        ['ImmutableField', r({ owner: 'holder', v4ip: '10.51.0.1' }), 409],
        ['InvalidSubnet', call('POST', '/v1/subnets', { name: 'bad', cidrBlock: '10.0.0.1/24' }), 400],
        ['SubnetInUse', call('DELETE', `/v1/subnets/${name}`), 409],
        ['ReservationNotFound', call('GET', `/v1/subnets/${name}/reservations/nobody`), 404],
        ['InvalidRequest', r({ v4ip: '10.51.0.2' }), 400],
        ['InvalidRequest', r('{not json'), 400],
        ['InvalidRequest', call('GET', `/v1/subnets/${name}/reservations?limit=0`), 400],
        ['NotFound', call('GET', '/v1/nothing-here'), 404],
      ];
    for (const [reason, p, status] of cases) {
      const res = await p;
      expect({ reason: res.body.reason, status: res.status }).toEqual({ reason, status });
      expect(res.body.message.length).toBeGreaterThan(10);
    }
    const zod = await r({ v4ip: 1 });
    expect(zod.body.message).toContain('owner');
    const conflict = await r({ owner: 'x', v4ip: '10.51.0.2' });
    expect(conflict.body).toMatchObject({ details: { holder: 'holder' } });
    const gw = await r({ owner: 'x', v4ip: '10.51.0.1' });
    expect(gw.body).toMatchObject({ reason: 'AddressConflict', details: { holder: 'gateway' } });

    // nothing changed: same reservations as before + the one we made on purpose
    const after = await call('GET', `/v1/subnets/${name}/reservations`);
    expect(after.body.items).toEqual([...before.body.items, held.body]);
    expect((await call('GET', `/v1/subnets/${name}`)).body.status.v4usingIPs).toBe(1);
    expect(await createRedisAllocator(redis).audit(name)).toEqual([]);

    // forced delete works
    expect((await call('DELETE', `/v1/subnets/${name}?force=true`)).status).toBe(204);
    expect((await call('GET', `/v1/subnets/${name}`)).body.reason).toBe('SubnetNotFound');
  });

  it('503 Unavailable when Redis cannot be reached, with a retry hint', async () => {
    const port = await freePort();
    const dead = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const down = createApp({ allocator: createRedisAllocator(dead) }, { apiToken: TOKEN });
    const res = await down.request(`/v1/subnets/${sub}/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: 'z' }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reason: string }).reason).toBe('Unavailable');
    dead.disconnect();
  });
});
