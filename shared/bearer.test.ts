import { describe, expect, it } from 'vitest';
import { bearerToken, sameSecret } from './bearer.ts';

describe('bearer token', () => {
  it('reads the token after a case-insensitive Bearer scheme, trimmed', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('BEARER a b')).toBe('a b');
  });

  it('is absent without the scheme or without a token', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer   ', 'Basic YTpi', 'abc'])
      expect(bearerToken(h)).toBeUndefined();
  });

  it('compares whole tokens whatever their lengths', () => {
    expect(sameSecret('tok-123', 'tok-123')).toBe(true);
    for (const t of ['tok-12', 'tok-1234', 'tok-124', '', 'x'.repeat(1000)])
      expect(sameSecret(t, 'tok-123')).toBe(false);
  });
});
