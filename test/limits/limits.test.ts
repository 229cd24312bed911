// Issue 11 item 5 over real HTTP (the app served by @hono/node-server, the real Redis allocator):
// every body is capped before it is read whole (413 PayloadTooLarge naming the limit), /events is
// refused on its headers before its body is read, deep JSON is a 400 NestingTooDeep, and the /v1
// parameters parse strictly (400 naming the field), with nothing changed by a refused request.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAdmissionRoutes } from '../../functions/admission/routes.ts';
import { createApp } from '../../functions/app.ts';
import {
  ADMISSION_MAX_BYTES,
  EVENTS_MAX_BATCH,
  EVENTS_MAX_BYTES,
  V1_MAX_BYTES,
} from '../../functions/body-limit.ts';
import { createEventRoutes } from '../../functions/events/routes.ts';
import {
  type Dispatch,
  encodeResourceEvent,
  type ResourceEvent,
  resourceEvent,
  signBodySync,
  structuredJson,
  toBatch,
} from '../../shared/events/index.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { type Answer, rawRequest, type Served, serveApp } from './http.ts';

const TOKEN = 'limits-token';
const SECRET = 'limits-secret';
const EVENTS_TOKEN = 'limits-events-token';
const ADMISSION_TOKEN = 'limits-admission-token';
const sub = `lim-${process.pid}-${Date.now().toString(36)}`;
const seen: ResourceEvent[] = [];
let redis: Redis;
let served: Served;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  const dispatch: Dispatch = async (ev) => {
    seen.push(ev);
    return { status: 'done' };
  };
  const app = createApp(
    { allocator: createRedisAllocator(redis) },
    {
      apiToken: TOKEN,
      mounts: [
        { path: '/events', app: createEventRoutes({ dispatch, secret: SECRET, token: EVENTS_TOKEN }) },
        {
          path: '/admission',
          app: createAdmissionRoutes({
            lookupSubnet: async (name) =>
              name === 'ovn-default'
                ? { metadata: { name }, spec: { cidrBlock: '10.16.0.0/16' } }
                : undefined,
            token: ADMISSION_TOKEN,
          }),
        },
      ],
    },
  );
  served = await serveApp(app.fetch);
});
afterAll(async () => {
  await served?.close();
  redis?.disconnect();
});

const v1 = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  rawRequest(served.port, {
    method,
    path,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const expectTooLarge = (a: Answer, limit: number) => {
  expect(a.status).toBe(413);
  expect(a.json()).toMatchObject({
    reason: 'PayloadTooLarge',
    message: expect.stringContaining(`${limit}`),
    details: { limit: String(limit) },
  });
};
const expectField = (a: Answer, field: string) => {
  expect([a.status, a.json().reason, a.json().details?.field]).toEqual([400, 'InvalidRequest', field]);
  expect(a.json().message).toContain(field);
};
/** What the subnet holds, as the API shows it. */
const state = async () => {
  const subnet = await v1('GET', `/v1/subnets/${sub}`);
  const list = await v1('GET', `/v1/subnets/${sub}/reservations?limit=1000`);
  return { subnet: subnet.text, list: list.text };
};
const MiB = 1024 * 1024;
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

beforeAll(async () => {
  expect((await v1('POST', '/v1/subnets', { name: sub, cidrBlock: '10.77.0.0/24' })).status).toBe(200);
  expect((await v1('POST', `/v1/subnets/${sub}/reservations`, { owner: 'lb/a' })).status).toBe(201);
});

describe('request body caps', () => {
  it('/v1: a Content-Length above 1 MiB is 413 before the body is read; 1 MiB itself is read', async () => {
    const before = await state();
    const pad = (n: number) => JSON.stringify({ owner: 'lb/big', pad: 'x'.repeat(n) });
    const over = pad(V1_MAX_BYTES);
    // Only a few bytes are sent: the answer must come from the header alone.
    const a = await rawRequest(served.port, {
      method: 'POST',
      path: `/v1/subnets/${sub}/reservations`,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'content-length': String(over.length),
      },
      stream: { chunk: Buffer.from('{"owner"'), maxBytes: 8 },
    });
    expectTooLarge(a, V1_MAX_BYTES);
    expect(a.json().message).toMatch(/1 MiB.*\/v1/);
    // at the limit: read and validated (zod strips the unknown pad field), so it is reserved
    const at = pad(V1_MAX_BYTES - pad(0).length);
    expect(Buffer.byteLength(at)).toBe(V1_MAX_BYTES);
    expect((await v1('POST', `/v1/subnets/${sub}/reservations`, at)).status).toBe(201);
    expect((await v1('DELETE', `/v1/subnets/${sub}/reservations/lb%2Fbig`)).json()).toEqual({
      released: true,
    });
    expect(await state()).toEqual(before);
  });

  it('/v1: a chunked body with no Content-Length is cut off at the cap, while it is still coming', async () => {
    const before = await state();
    const a = await rawRequest(served.port, {
      method: 'POST',
      path: `/v1/subnets/${sub}/reservations`,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      stream: { chunk: Buffer.alloc(16 * 1024, 0x20), maxBytes: 256 * MiB },
      timeoutMs: 20_000,
    });
    expectTooLarge(a, V1_MAX_BYTES);
    // answered long before the stream would have ended (socket buffers account for the rest)
    expect(a.sentBeforeAnswer).toBeLessThan(V1_MAX_BYTES + 32 * MiB);
    expect(await state()).toEqual(before);
  });

  it('/v1: without the token nothing is read: 401 even for a body that never ends', async () => {
    const a = await rawRequest(served.port, {
      method: 'POST',
      path: '/v1/subnets',
      headers: { 'content-type': 'application/json', 'content-length': String(100 * MiB) },
      stream: { chunk: Buffer.from('{'), maxBytes: 1 },
    });
    expect([a.status, a.json().reason]).toEqual([401, 'Unauthorized']);
  });

  it('/admission: 3 MiB, 413 above it', async () => {
    const a = await rawRequest(served.port, {
      method: 'POST',
      path: '/admission/vips',
      headers: {
        authorization: `Bearer ${ADMISSION_TOKEN}`,
        'content-type': 'application/json',
        'content-length': String(ADMISSION_MAX_BYTES + 1),
      },
      stream: { chunk: Buffer.from('{'), maxBytes: 1 },
    });
    expectTooLarge(a, ADMISSION_MAX_BYTES);
    expect(a.json().message).toMatch(/3 MiB.*\/admission/);
    const chunked = await rawRequest(served.port, {
      method: 'POST',
      path: '/admission/vips',
      headers: { authorization: `Bearer ${ADMISSION_TOKEN}`, 'content-type': 'application/json' },
      stream: { chunk: Buffer.alloc(16 * 1024, 0x20), maxBytes: 256 * MiB },
      timeoutMs: 20_000,
    });
    expectTooLarge(chunked, ADMISSION_MAX_BYTES);
  });

  it('/events: refused on its headers (no or bad credentials) before its body is read', async () => {
    const base = {
      method: 'POST',
      path: '/events',
      // 100 MiB announced, 1 byte sent: an endpoint that read the body first would never answer
      stream: { chunk: Buffer.from('{'), maxBytes: 1 },
    };
    const ce = { 'content-type': 'application/json', 'content-length': String(100 * MiB) };
    const unsigned = await rawRequest(served.port, { ...base, headers: ce });
    const badToken = await rawRequest(served.port, {
      ...base,
      headers: { ...ce, authorization: 'Bearer nope' },
    });
    const stale = await rawRequest(served.port, {
      ...base,
      headers: { ...ce, ...signBodySync(SECRET, '{', Date.now() - 3_600_000) },
    });
    const malformed = await rawRequest(served.port, {
      ...base,
      headers: {
        ...ce,
        'x-relay-signature': 'sha256=zz',
        'x-relay-timestamp': String(Math.floor(Date.now() / 1000)),
      },
    });
    for (const a of [unsigned, badToken, stale, malformed]) {
      expect([a.status, a.json().reason]).toEqual([401, 'Unauthenticated']);
    }
    expect(seen).toHaveLength(0);
  });

  it('/events: a wrongly signed body is cut off at the byte cap (chunked too), not buffered whole', async () => {
    const headers = {
      'content-type': 'application/json',
      ...signBodySync('not-the-secret', 'whatever'),
    };
    const declared = await rawRequest(served.port, {
      method: 'POST',
      path: '/events',
      headers: { ...headers, 'content-length': String(EVENTS_MAX_BYTES + 1) },
      stream: { chunk: Buffer.from('{'), maxBytes: 1 },
    });
    expectTooLarge(declared, EVENTS_MAX_BYTES);
    const chunked = await rawRequest(served.port, {
      method: 'POST',
      path: '/events',
      headers,
      stream: { chunk: Buffer.alloc(16 * 1024, 0x20), maxBytes: 512 * MiB },
      timeoutMs: 30_000,
    });
    expectTooLarge(chunked, EVENTS_MAX_BYTES);
    expect(chunked.sentBeforeAnswer).toBeLessThan(EVENTS_MAX_BYTES + 32 * MiB);
    expect(seen).toHaveLength(0);
  });

  it('/events: a signed batch above the events cap is 413 and dispatches nothing; at the cap it runs', async () => {
    const item = (i: number) =>
      structuredJson(
        resourceEvent(
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'ns' } },
          { action: 'add', source: 'https://k', id: `id-${i}` },
        ),
      );
    const post = (n: number) => {
      const msg = toBatch(Array.from({ length: n }, (_, i) => item(i)));
      return rawRequest(served.port, {
        method: 'POST',
        path: '/events',
        headers: { ...msg.headers, ...signBodySync(SECRET, msg.body) },
        body: msg.body,
      });
    };
    const over = await post(EVENTS_MAX_BATCH + 1);
    expectTooLarge(over, EVENTS_MAX_BATCH);
    expect(over.json().message).toContain(`${EVENTS_MAX_BATCH + 1} events`);
    expect(seen).toHaveLength(0);
    const at = await post(EVENTS_MAX_BATCH);
    expect(at.status).toBe(200);
    expect(at.json().results).toHaveLength(EVENTS_MAX_BATCH);
    expect(seen).toHaveLength(EVENTS_MAX_BATCH);
    seen.length = 0;
  });
});

describe('/events: object names are what Kubernetes allows', () => {
  it('a name or namespace that is no DNS-1123 name is 400 MalformedEvent naming the field', async () => {
    const cases = [
      { name: '../x', namespace: 'default', field: 'data.metadata.name' },
      { name: 'Upper', namespace: 'default', field: 'data.metadata.name' },
      { name: 'x'.repeat(254), namespace: 'default', field: 'data.metadata.name' },
      { name: 'ok', namespace: 'a/b', field: 'data.metadata.namespace' },
    ];
    for (const { name, namespace, field } of cases) {
      const msg = encodeResourceEvent(
        { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } },
        { action: 'delete', source: 'https://k' },
      );
      const a = await rawRequest(served.port, {
        method: 'POST',
        path: '/events',
        headers: { ...msg.headers, ...signBodySync(SECRET, msg.body) },
        body: msg.body,
      });
      expect([a.status, a.json().reason]).toEqual([400, 'MalformedEvent']);
      expect(a.json().message).toContain(field);
    }
    expect(seen).toHaveLength(0);
  });
});

describe('deeply nested JSON is a 400 NestingTooDeep, never a 5xx', () => {
  const nested = deep(100_000);

  it('/v1', async () => {
    const before = await state();
    for (const body of [`{"name":${nested}}`, nested, '['.repeat(100_000)]) {
      const a = await v1('POST', `/v1/subnets/${sub}/reservations`, body);
      expect([a.status, a.json().reason]).toEqual([400, 'NestingTooDeep']);
      expect(a.json().message).toContain('128 levels');
    }
    expect(await state()).toEqual(before);
  });

  it('/admission', async () => {
    const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"kubeovn.io","version":"v1","kind":"Vip"},"operation":"CREATE","object":${nested}}}`;
    const a = await rawRequest(served.port, {
      method: 'POST',
      path: '/admission/vips',
      headers: { authorization: `Bearer ${ADMISSION_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    expect([a.status, a.json().reason]).toEqual([400, 'NestingTooDeep']);
  });

  it('/events: binary, structured and batch', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { x: 1 } };
    const binary = encodeResourceEvent(pod, { action: 'add', source: 'https://k' });
    const structured = encodeResourceEvent(pod, {
      action: 'add',
      source: 'https://k',
      encoding: 'structured',
    });
    const bodies = [
      { headers: binary.headers, body: binary.body.replace('{"x":1}', nested) },
      { headers: structured.headers, body: structured.body.replace('{"x":1}', nested) },
      { ...toBatch([structured.body.replace('{"x":1}', nested)]) },
    ];
    for (const m of bodies) {
      expect(m.body.length).toBeGreaterThan(200_000);
      const a = await rawRequest(served.port, {
        method: 'POST',
        path: '/events',
        headers: { ...m.headers, ...signBodySync(SECRET, m.body) },
        body: m.body,
      });
      expect([a.status, a.json().reason]).toEqual([400, 'NestingTooDeep']);
    }
    expect(seen).toHaveLength(0);
  });
});

describe('/v1 parses strictly: 400 naming the field, nothing changed', () => {
  it('a gateway list with two addresses of one family', async () => {
    for (const gateway of ['10.78.0.1,10.78.0.2', 'fd00:78::1,fd00:78::2']) {
      const a = await v1('POST', '/v1/subnets', {
        name: `${sub}-gw`,
        cidrBlock: '10.78.0.0/24,fd00:78::/64',
        gateway,
      });
      expect([a.status, a.json().reason, a.json().details?.field]).toEqual([400, 'InvalidSubnet', 'gateway']);
    }
    expect((await v1('GET', `/v1/subnets/${sub}-gw`)).status).toBe(404);
  });

  it('limit: only decimal digits from 1 to 1000', async () => {
    for (const limit of ['1e2', '0x10', '%205', '-1', '5.0', '0', '1001', '', '+5', '05', 'Infinity']) {
      expectField(await v1('GET', `/v1/subnets/${sub}/reservations?limit=${limit}`), 'limit');
    }
    expect((await v1('GET', `/v1/subnets/${sub}/reservations?limit=1000`)).status).toBe(200);
  });

  it('cursor: only what nextCursor gave out', async () => {
    const page = await v1('GET', `/v1/subnets/${sub}/reservations?limit=1`);
    expect(page.status).toBe(200);
    // '_w' is byte 0xff (not UTF-8), 'a' cannot be base64, 'bGIvYQ==' is padded, 'bGIvYR' has stray bits
    for (const cursor of ['!!', 'a', '_w', 'bGIvYQ%3D%3D', 'bGIvYR', '%2F%2F', 'x'.repeat(3000)]) {
      expectField(await v1('GET', `/v1/subnets/${sub}/reservations?cursor=${cursor}`), 'cursor');
    }
    // a cursor of the API itself still pages
    const two = await v1('POST', `/v1/subnets/${sub}/reservations`, { owner: 'lb/b' });
    expect(two.status).toBe(201);
    const first = (await v1('GET', `/v1/subnets/${sub}/reservations?limit=1`)).json();
    const next = await v1('GET', `/v1/subnets/${sub}/reservations?limit=1&cursor=${first.nextCursor}`);
    expect(next.json().items.map((r: { owner: string }) => r.owner)).toEqual(['lb/b']);
    expect((await v1('DELETE', `/v1/subnets/${sub}/reservations/lb%2Fb`)).status).toBe(200);
  });

  it('owner and subnet names with lone surrogates, in the path or in JSON', async () => {
    const before = await state();
    expectField(await v1('GET', `/v1/subnets/${sub}/reservations/lb%ED%A0%80`), 'owner');
    expectField(await v1('DELETE', `/v1/subnets/${sub}/reservations/%ED%A0%80`), 'owner');
    expectField(await v1('POST', '/v1/subnets/x%ED%A0%80/reservations', { owner: 'lb/x' }), 'subnet');
    expectField(await v1('GET', '/v1/subnets/%ED%A0%80'), 'name');
    expectField(await v1('POST', `/v1/subnets/${sub}/reservations`, '{"owner":"lb/\\ud800"}'), 'owner');
    expectField(await v1('POST', '/v1/subnets', '{"name":"a\\udc00","cidrBlock":"10.79.0.0/24"}'), 'name');
    // a pair is text, not a lone surrogate
    const emoji = await v1('POST', `/v1/subnets/${sub}/reservations`, '{"owner":"lb/\\ud83d\\ude00"}');
    expect(emoji.status).toBe(201);
    expect(
      (await v1('DELETE', `/v1/subnets/${sub}/reservations/${encodeURIComponent('lb/😀')}`)).json(),
    ).toEqual({
      released: true,
    });
    expect(await state()).toEqual(before);
  });

  it('a valid JSON body with a bad owner names the field, not "invalid json"', async () => {
    for (const owner of [5, '', 'x'.repeat(600), ['lb/a']]) {
      const a = await v1('POST', `/v1/subnets/${sub}/reservations`, { owner });
      expectField(a, 'owner');
      expect(a.json().message).not.toMatch(/invalid json/i);
    }
    // a body that is not JSON at all still says so
    const notJson = await v1('POST', `/v1/subnets/${sub}/reservations`, '{"owner":');
    expect([notJson.status, notJson.json().reason]).toEqual([400, 'InvalidRequest']);
    expect(notJson.json().message).toMatch(/JSON/);
  });
});
