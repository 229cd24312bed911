// The one bearer-token check every endpoint uses (/v1, /occupancy, /admission, /events): how the
// token is read from `Authorization`, and how it is compared.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '')?.[1]?.trim() || undefined;
}

// HMAC both sides under a per-process random key: the compared digests have equal length, so the
// time taken depends neither on where the strings differ nor on their lengths. The key is made on
// first use: Workers refuse random values at module scope.
let compareKey: Buffer | undefined;
const digest = (s: string) => {
  compareKey ??= randomBytes(32);
  return createHmac('sha256', compareKey).update(s).digest();
};

/** Whether `sent` is `expected`, in constant time. */
export function sameSecret(sent: string, expected: string): boolean {
  return timingSafeEqual(digest(sent), digest(expected));
}
