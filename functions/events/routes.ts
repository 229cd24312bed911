// POST /events: the entry point for watch events, from the relay (signed) or from a Knative
// ApiServerSource (bearer token). Verifies, decodes, hands the event to `dispatch`, and maps the
// outcome onto the CloudEvents retry contract: 2xx done, 429/503 retry, other 4xx never succeeds.
import { Hono } from 'hono';
import { isDomainError } from '../../shared/errors.ts';
import { decodeEvent } from '../../shared/events/decode.ts';
import { isEventError } from '../../shared/events/errors.ts';
import type { Dispatch } from '../../shared/events/outcome.ts';
import { verifyRequest } from '../../shared/events/signature.ts';

export interface EventRoutesOptions {
  dispatch: Dispatch;
  /** RELAY_SECRET: HMAC key the relay signs with. */
  secret?: string;
  /** EVENTS_TOKEN: bearer token for senders that cannot sign (Knative). */
  token?: string;
  replayWindowMs?: number;
  /** Injectable clock for the replay window. */
  now?: () => number;
}

export function createEventRoutes(opts: EventRoutesOptions) {
  if (!opts.secret && !opts.token) {
    throw new Error('createEventRoutes needs a secret (RELAY_SECRET) or a token (EVENTS_TOKEN)');
  }
  const app = new Hono();

  app.post('/', async (c) => {
    // The raw text is what was signed; parse only after the signature holds.
    const body = await c.req.text();
    const headers = c.req.raw.headers;
    const auth = await verifyRequest(headers, body, {
      secret: opts.secret,
      token: opts.token,
      nowMs: (opts.now ?? Date.now)(),
      replayWindowMs: opts.replayWindowMs,
    });
    if (!auth.ok) return c.json({ reason: 'Unauthenticated', message: auth.message }, 401);

    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(headers, body);
    } catch (err) {
      if (isEventError(err)) return c.json({ reason: err.reason, message: err.message }, 400);
      throw err;
    }

    let outcome: Awaited<ReturnType<Dispatch>>;
    try {
      outcome = await opts.dispatch(event);
    } catch (err) {
      // A domain error is a verdict about the object; anything else is an outage worth retrying.
      if (isDomainError(err))
        return c.json({ reason: err.reason, message: err.message, details: err.details }, 422);
      return c.json({ reason: 'HandlerFailed', message: (err as Error).message ?? String(err) }, 503);
    }

    switch (outcome.status) {
      case 'done':
        return c.json({ status: 'done', id: event.id }, 200);
      case 'retry':
        if (outcome.retryAfterMs !== undefined) {
          c.header('Retry-After', String(Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))));
          return c.json({ reason: outcome.reason, message: 'retry later' }, 429);
        }
        return c.json({ reason: outcome.reason, message: 'retry later' }, 503);
      case 'rejected':
        return c.json({ reason: outcome.reason, message: outcome.message }, 422);
    }
  });

  return app;
}
