// Issue 11 item 10, /admission: generated AdmissionReviews (near-valid Vip reviews with mutated
// fields, wrong kinds and operations, broken bodies, wrong tokens and content types) against the
// real webhook, which reads Subnets from the development API server. Never a 5xx; a 4xx changes
// nothing (admission never writes, so nothing changes at all, which the snapshots check too).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION_MAX_BYTES } from '../../functions/body-limit.ts';
import type { RawRequest } from '../limits/http.ts';
import { ADMISSION_TOKEN, type FuzzStack, MANUAL_SUBNET, SEED, startFuzzStack } from './harness.ts';
import { anyValue, bodyOf, contentType, fuzz, headers, mostly, shortWeirdString } from './property.ts';

let stack: FuzzStack;
beforeAll(async () => {
  stack = await startFuzzStack();
});
afterAll(async () => {
  await stack?.stop();
});

const vip = fc.record(
  {
    apiVersion: mostly(fc.constant('kubeovn.io/v1')),
    kind: mostly(fc.constant('Vip')),
    metadata: mostly(
      fc.record(
        {
          name: mostly(fc.constantFrom(SEED.vip, 'vip-new')),
          deletionTimestamp: fc.constantFrom('2026-01-01T00:00:00Z'),
          labels: fc.dictionary(
            fc.constantFrom('a', 'ovn.kubernetes.io/ip_reserved'),
            fc.constantFrom('', 'x'),
          ),
        },
        { requiredKeys: ['name'] },
      ),
    ),
    spec: mostly(
      fc.record(
        {
          subnet: mostly(fc.constantFrom(SEED.subnet, MANUAL_SUBNET, 'nope', 'Bad_Name', 'a/b', '..')),
          namespace: mostly(fc.constantFrom('default', '')),
          v4ip: mostly(fc.constantFrom('10.16.0.50', '10.16.0.1', '10.17.0.1', '10.16.0.300', '')),
          v6ip: mostly(fc.constantFrom('fd00::5', '')),
          macAddress: mostly(fc.constantFrom('00:00:00:AA:BB:01', '01:00:5E:00:00:01', 'zz')),
          type: mostly(fc.constantFrom('', 'switch_lb_vip', 'x')),
          selector: mostly(fc.array(fc.constantFrom('app: web', 'x'), { maxLength: 2 })),
          attachSubnets: mostly(fc.array(shortWeirdString, { maxLength: 2 })),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

// Mostly a well-formed review of a mutated Vip (reaching the verdicts); sometimes a mutated review.
const wellFormed = fc.record({
  apiVersion: fc.constant('admission.k8s.io/v1'),
  kind: fc.constant('AdmissionReview'),
  request: fc.record({
    uid: fc.uuid(),
    kind: fc.constant({ group: 'kubeovn.io', version: 'v1', kind: 'Vip' }),
    operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE'),
    name: fc.constantFrom(SEED.vip, 'vip-new'),
    object: vip,
    oldObject: fc.oneof({ weight: 4, arbitrary: vip }, { weight: 1, arbitrary: anyValue }),
  }),
});
const mutated = fc.record(
  {
    apiVersion: mostly(fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1')),
    kind: mostly(fc.constant('AdmissionReview')),
    request: mostly(
      fc.record(
        {
          uid: mostly(fc.uuid()),
          kind: mostly(
            fc.record({
              group: mostly(fc.constantFrom('kubeovn.io', '')),
              version: mostly(fc.constant('v1')),
              kind: mostly(fc.constantFrom('Vip', 'Subnet')),
            }),
          ),
          operation: mostly(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'PATCH')),
          name: mostly(fc.constantFrom(SEED.vip, 'vip-new')),
          subResource: fc.constantFrom('status', ''),
          object: mostly(vip),
          oldObject: fc.oneof(vip, anyValue),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const review = fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 1, arbitrary: mutated });

const requests: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.oneof(
      { weight: 12, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') },
    ),
    path: fc.oneof(
      { weight: 12, arbitrary: fc.constant('/admission/vips') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('/admission', '/admission/', '/admission/subnets', '/admission/vips/x'),
      },
    ),
    auth: fc.oneof(
      { weight: 10, arbitrary: fc.constant(`Bearer ${ADMISSION_TOKEN}`) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer nope', '', `Bearer ${ADMISSION_TOKEN} `) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    contentType,
    body: bodyOf(review),
  })
  .map((r) => ({
    method: r.method,
    path: r.path,
    headers: headers({ authorization: r.auth, 'content-type': r.contentType }),
    ...(r.body === undefined ? {} : { body: r.body }),
  }));

describe('fuzz: the admission webhook (/admission)', () => {
  it('never answers 5xx, and a 4xx changes nothing in Redis or NB', async () => {
    const statuses = await fuzz(stack, requests, {
      limit: {
        covers: (r) => r.method === 'POST' && r.path === '/admission/vips',
        bytes: ADMISSION_MAX_BYTES,
      },
    });
    console.info('fuzz /admission statuses', Object.fromEntries(statuses));
    // Past authentication and parsing, into the verdicts (200 allowed or denied).
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401]));
  }, 60_000);
});
