// Issue 11 item 10, the reservation API: generated requests (methods, paths with odd segments,
// query values, tokens, content types, near-valid and broken bodies) against the real server.
// Never a 5xx; a 4xx changes nothing in Redis or NB.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V1_MAX_BYTES } from '../../functions/body-limit.ts';
import type { RawRequest } from '../limits/http.ts';
import { API_TOKEN, type FuzzStack, MANUAL_SUBNET, SEED, startFuzzStack } from './harness.ts';
import {
  anyValue,
  bodyOf,
  contentType,
  fuzz,
  headers,
  method,
  mostly,
  segment,
  shortWeirdString,
} from './property.ts';

let stack: FuzzStack;
beforeAll(async () => {
  stack = await startFuzzStack();
});
afterAll(async () => {
  await stack?.stop();
});

const subnets = segment([MANUAL_SUBNET, MANUAL_SUBNET, MANUAL_SUBNET, SEED.subnet, 'fresh', 'nope']);
const owners = segment(['lb%2Fa', 'lb%2Fb', 'lb%2Fc', `vip%2F${SEED.vip}`, 'pod%2Fx']);
const query = fc
  .record(
    {
      limit: fc.oneof(
        fc.constantFrom('1', '2', '1000', '1001', '0', '1e2', '0x10', ' 5', '-1', '5.0'),
        shortWeirdString,
      ),
      cursor: fc.oneof(fc.constantFrom('bGIvYQ', 'bGIvYg', '_w', '!!', 'a'), shortWeirdString),
      force: fc.oneof(fc.constantFrom('true', 'false'), shortWeirdString),
    },
    { requiredKeys: [] },
  )
  .map((q) => {
    const text = new URLSearchParams(q as Record<string, string>).toString();
    return text ? `?${text}` : '';
  });

const address = (...valid: string[]) => mostly(fc.constantFrom(...valid));
const subnetSpec = fc.record(
  {
    name: mostly(fc.constantFrom('fresh', 'fresh2', MANUAL_SUBNET, SEED.subnet)),
    cidrBlock: address(
      '10.91.0.0/24',
      '10.90.0.0/24',
      '10.91.0.0/24,fd00:91::/64',
      'fd00:92::/120',
      '10.16.0.0/16',
    ),
    gateway: address('10.91.0.1', '10.91.0.1,10.91.0.2', '10.91.0.1,fd00:91::1', '10.90.0.254'),
    excludeIps: mostly(
      fc.array(fc.constantFrom('10.91.0.2..10.91.0.9', '10.90.0.5', 'fd00:91::5', 'x'), { maxLength: 3 }),
    ),
  },
  { requiredKeys: [] },
);
const reservation = fc.record(
  {
    owner: mostly(
      fc.oneof(
        fc.constantFrom('lb/a', 'lb/c', 'vip/x', 'pod/y', 'lb/\ud800'),
        fc.nat(10_000).map((n) => `lb/r${n}`),
      ),
    ),
    // usually dynamic (absent), so that most reservations can succeed
    v4ip: fc.option(address('10.90.0.20', '10.90.0.2', '10.90.0.255', '10.91.0.20', '10.16.0.9'), {
      freq: 2,
      nil: undefined,
    }),
    v6ip: fc.option(address('fd00:91::20', 'fd00:92::5'), { freq: 4, nil: undefined }),
    macAddress: fc.option(address('00:00:00:12:34:56', '02:00:00:00:00:01', '01:00:5E:00:00:01'), {
      freq: 3,
      nil: undefined,
    }),
  },
  { requiredKeys: ['owner'] },
);

// Requests without a body, now and then with one anyway.
const noBody = fc.option(bodyOf(anyValue), { freq: 4, nil: undefined });

// The API's own operations, mostly with their own method; now and then another method or path.
const operation = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('POST'),
      path: fc.constant('/v1/subnets'),
      body: bodyOf(subnetSpec),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('GET'),
      path: subnets.map((s) => `/v1/subnets/${s}`),
      body: noBody,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('DELETE'),
      // rarely the seeded subnet: once it is gone (force=true), most requests would only find 404
      path: fc
        .oneof(
          { weight: 9, arbitrary: segment(['fresh', 'fresh2', 'nope']) },
          { weight: 1, arbitrary: subnets },
        )
        .map((s) => `/v1/subnets/${s}`),
      body: noBody,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      method: fc.constant('POST'),
      path: subnets.map((s) => `/v1/subnets/${s}/reservations`),
      body: bodyOf(reservation),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constant('GET'),
      path: subnets.map((s) => `/v1/subnets/${s}/reservations`),
      body: noBody,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constantFrom('GET', 'DELETE'),
      path: fc.tuple(subnets, owners).map(([s, o]) => `/v1/subnets/${s}/reservations/${o}`),
      body: noBody,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method,
      path: fc.oneof(
        fc.constantFrom('/v1', '/v1/', '/v1/subnets/', '/v2/subnets', '/healthz', '/openapi.json', '/'),
        subnets.map((s) => `/v1/subnets/${s}`),
        fc.tuple(subnets, owners).map(([s, o]) => `/v1/subnets/${s}/reservations/${o}`),
      ),
      body: bodyOf(fc.oneof(subnetSpec, reservation)),
    }),
  },
);

const requests: fc.Arbitrary<RawRequest> = fc
  .record({
    operation,
    query: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 2, arbitrary: query }),
    auth: fc.oneof(
      { weight: 12, arbitrary: fc.constant(`Bearer ${API_TOKEN}`) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer wrong', 'Basic eDp5', '', `bearer  ${API_TOKEN} `) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    contentType,
  })
  .map((r) => ({
    method: r.operation.method,
    path: `${r.operation.path}${r.query}`,
    headers: headers({ authorization: r.auth, 'content-type': r.contentType }),
    ...(r.operation.body === undefined ? {} : { body: r.operation.body }),
  }));

describe('fuzz: the reservation API (/v1)', () => {
  it('never answers 5xx, and a 4xx changes nothing in Redis or NB', async () => {
    const statuses = await fuzz(stack, requests, {
      limit: {
        covers: (r) => r.path.startsWith('/v1/') && !['GET', 'HEAD'].includes(r.method),
        bytes: V1_MAX_BYTES,
      },
    });
    console.info('fuzz /v1 statuses', Object.fromEntries(statuses));
    // The generator reaches past authentication and validation into the allocator.
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401, 404]));
    expect([...statuses.keys()].some((s) => s === 201 || s === 204 || s === 409)).toBe(true);
  }, 60_000);
});
