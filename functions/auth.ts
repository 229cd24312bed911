// Who may call a route group, for groups whose caller is a machine (the API server calling
// /admission): a bearer token, a verified client certificate, or both. The certificate check is
// the runtime's (a TLS socket knows whether its peer's certificate chains to the configured CA),
// so the entry point passes it in and this file stays runtime-neutral.
import type { Context, MiddlewareHandler } from 'hono';

export interface CallerAuth {
  /** Require `Authorization: Bearer <token>`, compared in constant time. */
  readonly token?: string | undefined;
  /** Require a client certificate the TLS layer verified; returns whether this request has one. */
  readonly clientCertificate?: ((c: Context) => boolean) | undefined;
}

/** Every configured requirement must hold; with none configured every caller passes. */
export function requireCaller(auth: CallerAuth): MiddlewareHandler {
  return async (c, next) => {
    if (auth.clientCertificate && !auth.clientCertificate(c)) {
      return c.json(
        {
          reason: 'Unauthenticated',
          message: 'a client certificate signed by the configured CA (ADMISSION_CLIENT_CA_FILE) is required',
        },
        401,
      );
    }
    if (auth.token !== undefined) {
      const sent = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
      if (!sent || !constantTimeEqual(sent, auth.token)) {
        return c.json(
          {
            reason: 'Unauthenticated',
            message: sent ? 'the bearer token is not valid here' : 'a bearer token is required',
          },
          401,
          { 'WWW-Authenticate': 'Bearer' },
        );
      }
    }
    await next();
  };
}

/** Compares every character whatever the first difference, so timing does not reveal a prefix. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
