// Request authentication with Web Crypto only, so it runs on Node, Deno and Workers alike.
// The relay signs `<timestamp>.<body>` with HMAC-SHA256 (RELAY_SECRET); the timestamp bounds how
// long a captured request can be replayed. A bearer token (EVENTS_TOKEN) is accepted as well,
// because a Knative ApiServerSource cannot sign.
import type { HeaderBag } from './decode.ts';

export const SIGNATURE_HEADER = 'x-relay-signature';
export const TIMESTAMP_HEADER = 'x-relay-timestamp';
export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;

const encoder = new TextEncoder();

// Importing a key costs more than one HMAC; a process holds one or two secrets, so keep them.
const keys = new Map<string, ReturnType<typeof crypto.subtle.importKey>>();
function hmacKey(secret: string, usage: 'sign' | 'verify'): ReturnType<typeof crypto.subtle.importKey> {
  const id = `${usage}:${secret}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size > 16) keys.clear();
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      usage,
    ]);
    keys.set(id, key);
  }
  return key;
}

const toHex = (buf: ArrayBuffer) =>
  [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The two headers to add to a request carrying `body`. `nowMs` is injectable for tests. */
export async function signBody(
  secret: string,
  body: string,
  nowMs = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const mac = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(secret, 'sign'),
    encoder.encode(`${timestamp}.${body}`),
  );
  return { [SIGNATURE_HEADER]: `sha256=${toHex(mac)}`, [TIMESTAMP_HEADER]: timestamp };
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
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

// Compares through HMAC so the time taken does not depend on where the strings differ.
async function sameSecret(a: string, b: string): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'raw',
    crypto.getRandomValues(new Uint8Array(32)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  const macA = await crypto.subtle.sign('HMAC', key, encoder.encode(a));
  return crypto.subtle.verify('HMAC', key, macA, encoder.encode(b));
}

export async function verifyRequest(
  headers: HeaderBag,
  body: string,
  opts: VerifyOptions,
): Promise<VerifyResult> {
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
    const mac = signature.startsWith('sha256=') ? fromHex(signature.slice(7)) : undefined;
    if (!mac) return { ok: false, message: `${SIGNATURE_HEADER} must be sha256=<hex>` };
    const valid = await crypto.subtle.verify(
      'HMAC',
      await hmacKey(opts.secret, 'verify'),
      mac,
      encoder.encode(`${timestamp}.${body}`),
    );
    return valid ? { ok: true, method: 'signature' } : { ok: false, message: 'the signature does not match' };
  }
  const auth = header(headers, 'authorization');
  if (auth !== undefined && opts.token) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1] && (await sameSecret(m[1], opts.token))) return { ok: true, method: 'token' };
    return { ok: false, message: 'the bearer token does not match' };
  }
  return { ok: false, message: 'the request carries no signature or bearer token' };
}
