// The property every surface is fuzzed against: an answer is never a 5xx, a 4xx is a JSON error
// with a stable `reason`, and a 4xx changed nothing in Redis or NB (snapshots before and after).
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Answer, RawRequest } from '../limits/http.ts';
import type { FuzzStack } from './harness.ts';

/** Requests per surface: enough to reach every route and reason, a few seconds each. */
export const RUNS = 300;

// A seed per run, printed with a failure, so a failing run can be replayed with `FUZZ_SEED=...`.
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

const lines = (s: string) => new Set(s.split('\n'));
const diff = (before: string, after: string) => {
  const a = lines(before);
  const b = lines(after);
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l.slice(0, 200)}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l.slice(0, 200)}`),
  ];
};

const describeRequest = (r: RawRequest) =>
  `${r.method} ${r.path} ${JSON.stringify(r.headers ?? {})} ${
    r.body === undefined ? '(no body)' : `${String(r.body).slice(0, 300)} (${String(r.body).length} chars)`
  }`;

/** Runs `RUNS` generated requests against the stack; returns how many answers had each status. */
export async function fuzz(
  stack: FuzzStack,
  requests: fc.Arbitrary<RawRequest>,
  opts: {
    allowed5xx?: (answer: Answer) => boolean;
    /** A body cap: past authentication, a request it covers with a bigger body is answered 413. */
    limit?: { covers: (r: RawRequest) => boolean; bytes: number };
  } = {},
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let before = await stack.snapshot();
  await fc.assert(
    fc.asyncProperty(requests, async (r) => {
      const answer = await stack.request(r);
      const after = await stack.snapshot();
      const prev = before;
      before = after;
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (process.env.FUZZ_DEBUG)
        console.info('FZ', answer.status, r.method, r.path.slice(0, 80), answer.text.slice(0, 100));
      const what = `${describeRequest(r)}\n-> ${answer.status} ${answer.text.slice(0, 500)}`;
      if (!opts.allowed5xx?.(answer)) expect(answer.status, what).toBeLessThan(500);
      const size = r.body === undefined ? 0 : Buffer.byteLength(r.body);
      if (opts.limit && size > opts.limit.bytes && opts.limit.covers(r) && answer.status !== 401) {
        expect(answer.status, what).toBe(413);
        expect(answer.json().reason, what).toBe('PayloadTooLarge');
      }
      if (answer.status >= 400) {
        // 431 (a URL or headers above 16 KiB) is Node's own answer, before the app sees the request.
        if (r.method !== 'HEAD' && answer.status !== 431) {
          expect(String(answer.headers['content-type']), what).toMatch(/^application\/json/);
          expect(typeof answer.json().reason, what).toBe('string');
        }
        expect(diff(prev, after), `a ${answer.status} changed state: ${what}`).toEqual([]);
      }
    }),
    { numRuns: RUNS, seed, endOnFailure: true },
  );
  return statuses;
}

// --- shared generators ---

/** Strings that have broken parsers before: empty, lone surrogates, separators, names in use. */
export const shortWeirdString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\ud800',
      'a\udc00b',
      '😀',
      '%ED%A0%80',
      '../x',
      'a/b',
      'vip/vip-seed',
      'pod/default/pod-seed',
      'ovn-default',
      'manual',
      'lb/a',
      'A_B',
      '0',
      'null',
      '-1',
      '1e2',
      '0x10',
      '10.16.0.1',
      '10.90.0.300',
      'fd00::1',
      '10.16.0.0/16',
    ),
  },
);
/** The same, and sometimes a long one (past name and owner limits, or a few tens of KB). */
export const weirdString = fc.oneof(
  { weight: 12, arbitrary: shortWeirdString },
  { weight: 1, arbitrary: fc.integer({ min: 254, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

/** Any JSON value, or one of the strings above. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: weirdString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1.5, [], {}) },
);

/** A field that is usually `valid` and sometimes anything, or absent (undefined). */
export const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 16, arbitrary: valid },
    { weight: 2, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

/** A body: the near-valid JSON given, or garbage, deep nesting, a huge document, or none. */
export const bodyOf = (nearValid: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 10, arbitrary: nearValid.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(200, 100_000).map((d) => `{"a":${'['.repeat(d)}${']'.repeat(d)}}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(512 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024)
        .map((n) => `{"pad":"${'x'.repeat(n)}"}`),
    },
  );

export const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'application/octet-stream',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

export const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS') },
);

/** A path segment as sent: percent-encoded text, or raw percent sequences that are not UTF-8. */
export const segment = (known: readonly string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...known) },
    {
      weight: 2,
      // encodeURIComponent refuses lone surrogates: send those as the raw bytes of one instead
      arbitrary: shortWeirdString.map((s) => {
        try {
          return encodeURIComponent(s);
        } catch {
          return '%ED%A0%80';
        }
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('%ED%A0%80', '%zz', '%', '%C0%AF', '%00', '..', '.', '%2F') },
  );

/** Headers without the undefined ones. */
export const headers = (h: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined));
