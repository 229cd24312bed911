// The node:crypto signer must keep the wire format the Web Crypto one had: the same MAC over
// `<timestamp>.<body>`, checked here against an HMAC computed independently with crypto.subtle.
import { describe, expect, it } from 'vitest';
import {
  SIGNATURE_HEADER,
  signBody,
  signBodySync,
  TIMESTAMP_HEADER,
  verifyRequest,
  verifyRequestSync,
} from '../../shared/events/signature.ts';

const secret = 'relay-secret';
const body = '{"apiVersion":"kubeovn.io/v1","kind":"Vip","metadata":{"name":"vip-ä"}}';
const now = 1_700_000_000_000;

async function subtleHex(key: string, text: string): Promise<string> {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey('raw', enc.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(text)));
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('HMAC signature (node:crypto)', () => {
  it('signs exactly what Web Crypto signs: sha256=<hex> over <timestamp>.<body>', async () => {
    const headers = await signBody(secret, body, now);
    expect(headers[TIMESTAMP_HEADER]).toBe('1700000000');
    expect(headers[SIGNATURE_HEADER]).toBe(`sha256=${await subtleHex(secret, `1700000000.${body}`)}`);
    expect(signBodySync(secret, body, now)).toEqual(headers);
  });

  it('verifies a Web Crypto signature; refuses a tampered body, a wrong secret, old and future timestamps', async () => {
    const headers = {
      [SIGNATURE_HEADER]: `sha256=${await subtleHex(secret, `1700000000.${body}`)}`,
      [TIMESTAMP_HEADER]: '1700000000',
    };
    expect(verifyRequestSync(headers, body, { secret, nowMs: now })).toEqual({
      ok: true,
      method: 'signature',
    });
    expect(await verifyRequest(new Headers(headers), body, { secret, nowMs: now })).toEqual({
      ok: true,
      method: 'signature',
    });
    expect(verifyRequestSync(headers, body.replace('ä', 'a'), { secret, nowMs: now })).toMatchObject({
      ok: false,
      message: 'the signature does not match',
    });
    expect(verifyRequestSync(headers, body, { secret: 'other', nowMs: now }).ok).toBe(false);
    expect(verifyRequestSync(headers, body, { secret, nowMs: now + 6 * 60_000 })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/replay window/),
    });
    expect(verifyRequestSync(headers, body, { secret, nowMs: now - 6 * 60_000 }).ok).toBe(false);
    // The timestamp is signed too: moving it forward breaks the MAC.
    expect(
      verifyRequestSync({ ...headers, [TIMESTAMP_HEADER]: '1700000001' }, body, { secret, nowMs: now }).ok,
    ).toBe(false);
  });

  it('refuses malformed signature headers without throwing; upper-case hex is the same MAC', () => {
    const good = signBodySync(secret, body, now);
    const hex = good[SIGNATURE_HEADER]!.slice(7);
    const withSig = (sig: string) => ({ ...good, [SIGNATURE_HEADER]: sig });
    for (const sig of [
      '',
      'sha256=',
      `sha1=${hex}`,
      `sha256=${hex.slice(2)}`,
      `sha256=${hex}zz`,
      'sha256=xyz',
    ]) {
      expect(verifyRequestSync(withSig(sig), body, { secret, nowMs: now }).ok).toBe(false);
    }
    expect(verifyRequestSync(withSig(`sha256=${hex.toUpperCase()}`), body, { secret, nowMs: now }).ok).toBe(
      true,
    );
    expect(
      verifyRequestSync({ [SIGNATURE_HEADER]: `sha256=${hex}` }, body, { secret, nowMs: now }),
    ).toMatchObject({
      ok: false,
      message: expect.stringMatching(/timestamp/),
    });
  });

  it('bearer tokens compare whole, whatever their lengths', () => {
    const token = 'tok-123';
    expect(verifyRequestSync({ Authorization: 'Bearer tok-123' }, body, { token })).toEqual({
      ok: true,
      method: 'token',
    });
    for (const t of ['tok-12', 'tok-1234', 'tok-124', 'x'.repeat(1000)]) {
      expect(verifyRequestSync({ authorization: `Bearer ${t}` }, body, { token }).ok).toBe(false);
    }
  });

  it('costs microseconds, not an async job per call (10,000 sign+verify in under 2 s)', () => {
    const t0 = performance.now();
    for (let i = 0; i < 5_000; i++) {
      const h = signBodySync(secret, body, now);
      if (!verifyRequestSync(h, body, { secret, nowMs: now }).ok) throw new Error('verify failed');
    }
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
