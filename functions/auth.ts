// Who may call a route group. One bearer check for every group (/v1, /occupancy, /admission; /events
// reads the same token the same way in shared/events/signature.ts), each group keeping its own
// refusal wording. For /admission a verified client certificate can be required as well: that
// check is the runtime's (a TLS socket knows whether its peer's certificate chains to the
// configured CA), so the entry point passes it in and this file stays runtime-neutral.
import type { Context, MiddlewareHandler } from 'hono';
import { bearerToken, sameSecret } from '../shared/bearer.ts';

/** How a group words its 401: the stable reason and a message for each case. */
export interface BearerRefusal {
  readonly reason: string;
  /** No `Authorization: Bearer` header. */
  readonly missing: string;
  /** A bearer token that is not this group's. */
  readonly invalid: string;
}

/** Requires `Authorization: Bearer <token>`, compared in constant time; 401 with `WWW-Authenticate: Bearer`. */
export function requireBearer(token: string, refusal: BearerRefusal): MiddlewareHandler {
  return async (c, next) => {
    const sent = bearerToken(c.req.header('authorization'));
    if (!sent || !sameSecret(sent, token)) {
      return c.json({ reason: refusal.reason, message: sent ? refusal.invalid : refusal.missing }, 401, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    await next();
  };
}

export interface CallerAuth {
  /** Require `Authorization: Bearer <token>`, compared in constant time. */
  readonly token?: string | undefined;
  /** Require a client certificate the TLS layer verified; returns whether this request has one. */
  readonly clientCertificate?: ((c: Context) => boolean) | undefined;
}

const CALLER_REFUSAL: BearerRefusal = {
  reason: 'Unauthenticated',
  missing: 'a bearer token is required',
  invalid: 'the bearer token is not valid here',
};

/** Every configured requirement must hold; with none configured every caller passes. */
export function requireCaller(auth: CallerAuth): MiddlewareHandler {
  const bearer = auth.token !== undefined ? requireBearer(auth.token, CALLER_REFUSAL) : undefined;
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
    if (bearer) return bearer(c, next);
    await next();
  };
}
