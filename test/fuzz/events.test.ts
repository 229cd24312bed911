// Issue 11 item 10, /events: generated CloudEvents (binary, structured, batches; Resource and
// Reference mode) of near-valid objects with mutated fields, signed right, signed wrong, stale,
// with a token or none, with mutated headers and bodies, against the real reconcilers (Redis, NB,
// the development API server). Signed valid events may change state (the reconcilers act on them);
// a 4xx must not, and nothing is ever a 5xx.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_MAX_BYTES } from '../../functions/body-limit.ts';
import {
  type EncodedEvent,
  encodeReferenceEvent,
  encodeResourceEvent,
  resourceEvent,
  signBodySync,
  structuredJson,
  toBatch,
} from '../../shared/events/index.ts';
import type { Answer, RawRequest } from '../limits/http.ts';
import {
  EVENTS_TOKEN,
  type FuzzStack,
  MANUAL_SUBNET,
  RELAY_SECRET,
  SEED,
  startFuzzStack,
} from './harness.ts';
import { anyValue, bodyOf, fuzz, headers, mostly, shortWeirdString } from './property.ts';

let stack: FuzzStack;
beforeAll(async () => {
  stack = await startFuzzStack();
});
afterAll(async () => {
  await stack?.stop();
});

const KINDS = {
  Vip: 'kubeovn.io/v1',
  Subnet: 'kubeovn.io/v1',
  SwitchLBRule: 'kubeovn.io/v1',
  Pod: 'v1',
  StatefulSet: 'apps/v1',
  VirtualMachine: 'kubevirt.io/v1',
} as const;

const kind = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...(Object.keys(KINDS) as (keyof typeof KINDS)[])) },
  { weight: 1, arbitrary: fc.constantFrom('ConfigMap', 'vip', '') },
);
const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(SEED.vip, SEED.subnet, SEED.pod.name, 'vip-new', 'gone') },
  { weight: 1, arbitrary: shortWeirdString },
);
const spec = fc.record(
  {
    subnet: mostly(fc.constantFrom(SEED.subnet, MANUAL_SUBNET, 'nope')),
    v4ip: mostly(fc.constantFrom('10.16.0.50', '10.16.0.1', '10.17.0.1', '10.16.0.300')),
    macAddress: mostly(fc.constantFrom('00:00:00:AA:BB:01', '01:00:5E:00:00:01')),
    type: mostly(fc.constantFrom('', 'switch_lb_vip', 'x')),
    cidrBlock: mostly(fc.constantFrom('10.16.0.0/16', '10.18.0.0/24')),
    containers: mostly(fc.constant([{ name: 'c', image: 'busybox' }])),
  },
  { requiredKeys: [] },
);
const object = fc
  .record({
    kind,
    name,
    namespace: fc.option(fc.constantFrom('default', 'other', ''), { nil: undefined }),
    resourceVersion: fc.option(fc.constantFrom('1', '2', '999999', 'x'), { nil: undefined }),
    annotations: fc.option(
      fc.dictionary(
        fc.constantFrom('ovn.kubernetes.io/vip', 'ovn.kubernetes.io/ip_address'),
        fc.constantFrom(SEED.vip, '10.16.0.9', 'x'),
      ),
      { nil: undefined },
    ),
    spec,
    extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 3 }), {
      nil: undefined,
    }),
  })
  .map((o) => ({
    ...(o.extra ?? {}),
    apiVersion: KINDS[o.kind as keyof typeof KINDS] ?? 'v1',
    kind: o.kind,
    metadata: {
      name: o.name,
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      ...(o.resourceVersion ? { resourceVersion: o.resourceVersion } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: o.spec,
  }));
const action = fc.constantFrom('add', 'update', 'delete') as fc.Arbitrary<'add' | 'update' | 'delete'>;

// The encoder refuses an object without kind or name; such an event is written by hand.
const byHand = (object: unknown, act: string) =>
  JSON.stringify({
    specversion: '1.0',
    id: `fuzz-${Math.random().toString(36).slice(2)}`,
    source: 'https://fuzz',
    type: `dev.knative.apiserver.resource.${act}`,
    datacontenttype: 'application/json',
    data: object,
  });
const orByHand = (encode: () => EncodedEvent, object: unknown, act: string): EncodedEvent => {
  try {
    return encode();
  } catch {
    return { headers: { 'content-type': 'application/cloudevents+json' }, body: byHand(object, act) };
  }
};
const structuredOrByHand = (object: unknown, act: 'add' | 'update' | 'delete') => {
  try {
    return structuredJson(resourceEvent(object as never, { action: act, source: 'https://fuzz' }));
  } catch {
    return byHand(object, act);
  }
};

// An encoded event (any mode and encoding), or a batch of them.
const encoded: fc.Arbitrary<EncodedEvent> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        object,
        action,
        encoding: fc.constantFrom('binary', 'structured') as fc.Arbitrary<'binary' | 'structured'>,
      })
      .map(({ object, action, encoding }) =>
        orByHand(
          () => encodeResourceEvent(object as never, { action, source: 'https://fuzz', encoding }),
          object,
          action,
        ),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ object, action }).map(({ object, action }) =>
      orByHand(
        () =>
          encodeReferenceEvent(
            {
              apiVersion: object.apiVersion,
              kind: object.kind,
              name: object.metadata.name,
              ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
            },
            { action, source: 'https://fuzz' },
          ),
        object,
        action,
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: fc
              .record({ object, action })
              .map(({ object, action }) => structuredOrByHand(object, action)),
          },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
        ),
        { maxLength: 6 },
      )
      .map(toBatch),
  },
);

// Header edits on top of an encoded event: a CloudEvents attribute or the content type replaced.
const headerEdit = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        'ce-specversion': fc.constantFrom('1.0', '0.3', ''),
        'ce-type': fc.constantFrom(
          'dev.knative.apiserver.resource.add',
          'dev.knative.apiserver.ref.delete',
          'com.example.x',
          '',
        ),
        'ce-id': fc.constantFrom('', 'x'),
        'ce-source': fc.constantFrom('', 'https://x'),
        'content-type': fc.constantFrom(
          'application/json',
          'text/plain',
          'application/cloudevents+json',
          'application/cloudevents-batch+json',
          '',
        ),
      },
      { requiredKeys: [] },
    ),
  },
);

type Auth = 'signed' | 'wrong-secret' | 'stale' | 'bad-hex' | 'token' | 'wrong-token' | 'none';
const auth = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Auth>('signed') },
  { weight: 1, arbitrary: fc.constant<Auth>('token') },
  { weight: 2, arbitrary: fc.constantFrom<Auth>('wrong-secret', 'stale', 'bad-hex', 'wrong-token', 'none') },
);
const credentials = (a: Auth, body: string): Record<string, string> => {
  switch (a) {
    case 'signed':
      return signBodySync(RELAY_SECRET, body);
    case 'wrong-secret':
      return signBodySync('not-the-secret', body);
    case 'stale':
      return signBodySync(RELAY_SECRET, body, Date.now() - 3_600_000);
    case 'bad-hex':
      return {
        'x-relay-signature': 'sha256=xyz',
        'x-relay-timestamp': String(Math.floor(Date.now() / 1000)),
      };
    case 'token':
      return { authorization: `Bearer ${EVENTS_TOKEN}` };
    case 'wrong-token':
      return { authorization: 'Bearer nope' };
    case 'none':
      return {};
  }
};

const requests: fc.Arbitrary<RawRequest> = fc
  .record({
    encoded,
    headerEdit,
    // now and then the body is replaced (garbage, deep nesting, megabytes), signed all the same
    body: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: bodyOf(anyValue) },
    ),
    auth,
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') },
    ),
    path: fc.oneof(
      { weight: 12, arbitrary: fc.constant('/events') },
      { weight: 1, arbitrary: fc.constantFrom('/events/', '/events/x', '/events?x=1', '/event') },
    ),
  })
  .map((r) => {
    const body = r.body ?? r.encoded.body;
    const h = headers({ ...r.encoded.headers, ...(r.headerEdit as Record<string, string | undefined>) });
    return { method: r.method, path: r.path, headers: { ...h, ...credentials(r.auth, body) }, body };
  });

// A handler's own `retry` outcome (e.g. a pod names a Vip that does not exist yet, VipNotFound) is
// answered 503 so that the sender resends it later: the object it waits for may come. That is the
// retry contract, not a failure. An outage (DependencyUnavailable: a thrown error) or a crash
// (HandlerFailed) is a failure here: every dependency is up in this test.
const OUTAGE = new Set(['DependencyUnavailable', 'HandlerFailed', 'Unavailable']);
const deliberateRetry = (a: Answer) => a.status === 503 && !OUTAGE.has(String(a.json().reason));

describe('fuzz: the event endpoint (/events)', () => {
  it('never answers 5xx, and a 4xx changes nothing in Redis or NB', async () => {
    const statuses = await fuzz(stack, requests, {
      allowed5xx: deliberateRetry,
      limit: { covers: (r) => r.method === 'POST' && r.path === '/events', bytes: EVENTS_MAX_BYTES },
    });
    console.info('fuzz /events statuses', Object.fromEntries(statuses));
    // Past authentication and decoding, into the reconcilers (200 single or batch answers).
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401]));
  }, 60_000);
});
