// Request authentication with node:crypto's synchronous HMAC (Node, Deno, and workerd with
// nodejs_compat): crypto.subtle ran each HMAC as an async job at ~0.5 ms, node:crypto takes µs.
// The relay signs `<timestamp>.<body>` with HMAC-SHA256 (RELAY_SECRET); the timestamp bounds how
// long a captured request can be replayed. A bearer token (EVENTS_TOKEN) is accepted as well,
// because a Knative ApiServerSource cannot sign.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { bearerToken, sameSecret } from '../bearer.ts';
import type { HeaderBag } from './decode.ts';

export const SIGNATURE_HEADER = 'x-relay-signature';
export const TIMESTAMP_HEADER = 'x-relay-timestamp';
export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;

const macOf = (secret: string, timestamp: string, body: string): Buffer =>
  createHmac('sha256', secret).update(timestamp).update('.').update(body).digest();

/** The two headers to add to a request carrying `body`, computed synchronously. */
export function signBodySync(secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [SIGNATURE_HEADER]: `sha256=${macOf(secret, timestamp, body).toString('hex')}`,
    [TIMESTAMP_HEADER]: timestamp,
  };
}

/** The two headers to add to a request carrying `body`. `nowMs` is injectable for tests. */
export async function signBody(
  secret: string,
  body: string,
  nowMs = Date.now(),
): Promise<Record<string, string>> {
  return signBodySync(secret, body, nowMs);
}

export interface VerifyOptions {
  /** HMAC secret (RELAY_SECRET); signature checking is off when absent. */
  secret?: string;
  /** Bearer token (EVENTS_TOKEN); token checking is off when absent. */
  token?: string;
  nowMs?: number;
  replayWindowMs?: number;
}

export type VerifyResult = { ok: true; method: 'signature' | 'token' } | { ok: false; message: string };

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const direct = headers[name];
  if (direct !== undefined) return Array.isArray(direct) ? direct[0] : direct;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * What the headers alone decide: a bearer token in full, a signature's form and age. Undefined
 * when only the body's HMAC is left to check. Lets an endpoint refuse a request before reading
 * its body.
 */
export function verifyHeadersSync(headers: HeaderBag, opts: VerifyOptions): VerifyResult | undefined {
  if (!opts.secret && !opts.token) return { ok: false, message: 'no secret or token is configured' };
  const signature = header(headers, SIGNATURE_HEADER);
  if (signature !== undefined && opts.secret) {
    const timestamp = header(headers, TIMESTAMP_HEADER);
    if (!timestamp || !/^\d+$/.test(timestamp))
      return { ok: false, message: `${TIMESTAMP_HEADER} is missing` };
    const ageMs = Math.abs((opts.nowMs ?? Date.now()) - Number(timestamp) * 1000);
    if (ageMs > (opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS)) {
      return { ok: false, message: 'the signature timestamp is outside the replay window' };
    }
    const hex = signature.startsWith('sha256=') ? signature.slice(7) : '';
    if (!HEX_SHA256.test(hex)) return { ok: false, message: `${SIGNATURE_HEADER} must be sha256=<hex>` };
    return undefined;
  }
  const auth = header(headers, 'authorization');
  if (auth !== undefined && opts.token) {
    const sent = bearerToken(auth);
    if (sent && sameSecret(sent, opts.token)) return { ok: true, method: 'token' };
    return { ok: false, message: 'the bearer token does not match' };
  }
  return { ok: false, message: 'the request carries no signature or bearer token' };
}

/** Synchronous check of a request's signature or bearer token. */
export function verifyRequestSync(headers: HeaderBag, body: string, opts: VerifyOptions): VerifyResult {
  const decided = verifyHeadersSync(headers, opts);
  if (decided) return decided;
  // verifyHeadersSync checked that both headers are there and well formed.
  const timestamp = header(headers, TIMESTAMP_HEADER)!;
  const hex = header(headers, SIGNATURE_HEADER)!.slice(7);
  const valid = timingSafeEqual(Buffer.from(hex, 'hex'), macOf(opts.secret!, timestamp, body));
  return valid ? { ok: true, method: 'signature' } : { ok: false, message: 'the signature does not match' };
}

export async function verifyRequest(
  headers: HeaderBag,
  body: string,
  opts: VerifyOptions,
): Promise<VerifyResult> {
  return verifyRequestSync(headers, body, opts);
}
