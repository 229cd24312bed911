// POST /events: the entry point for watch events, from the relay (signed) or from a Knative
// ApiServerSource (bearer token). Verifies, decodes, hands each event to `dispatch`, and maps the
// outcome onto the CloudEvents retry contract: 2xx done, 429/503 retry, other 4xx never succeeds.
// A batch (application/cloudevents-batch+json) is verified once, its events are dispatched
// concurrently, and the answer is 200 with each event's own status in `results`.
// Limits: credentials are checked on the headers before the body is read (401), the body is
// capped in bytes and a batch in events (413 PayloadTooLarge), JSON nests 128 levels at most (400).
import { type Context, Hono } from 'hono';
import { isDomainError } from '../../shared/domain/errors.ts';
import { decodeBatch, decodeEvent, isBatch } from '../../shared/events/decode.ts';
import { type EventError, isEventError } from '../../shared/events/errors.ts';
import type { Dispatch, Outcome } from '../../shared/events/outcome.ts';
import { verifyHeadersSync, verifyRequestSync } from '../../shared/events/signature.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { EVENTS_MAX_BATCH, EVENTS_MAX_BYTES, limitBody, payloadTooLarge } from '../body-limit.ts';
import type { FunctionsEnv } from '../env.ts';

export interface EventRoutesOptions {
  dispatch: Dispatch;
  /** RELAY_SECRET: HMAC key the relay signs with. */
  secret?: string;
  /** EVENTS_TOKEN: bearer token for senders that cannot sign (Knative). */
  token?: string;
  replayWindowMs?: number;
  /** Injectable clock for the replay window. */
  now?: () => number;
  /** Request body cap in bytes (EVENTS_MAX_BYTES, default 16 MiB); more is answered 413. */
  maxBytes?: number;
  /** Events per batch at most (EVENTS_MAX_BATCH, default 256); more is answered 413. */
  maxBatch?: number;
}

/** One event's answer inside a batch: the HTTP status it would have had alone. */
export interface EventResult {
  id: string;
  status: number;
  reason?: string;
  message?: string;
  retryAfterMs?: number;
  produced?: string[];
}

interface Verdict {
  result: EventResult;
  details?: unknown;
}

function fromOutcome(id: string, outcome: Outcome): Verdict {
  switch (outcome.status) {
    case 'done':
      return {
        result: { id, status: 200, ...(outcome.produced?.length ? { produced: outcome.produced } : {}) },
      };
    case 'retry':
      return outcome.retryAfterMs !== undefined
        ? {
            result: {
              id,
              status: 429,
              reason: outcome.reason,
              message: 'retry later',
              retryAfterMs: outcome.retryAfterMs,
            },
          }
        : { result: { id, status: 503, reason: outcome.reason, message: 'retry later' } };
    case 'rejected':
      return { result: { id, status: 422, reason: outcome.reason, message: outcome.message } };
    case 'failed':
      return { result: { id, status: 500, reason: outcome.reason, message: outcome.message } };
  }
}

async function handle(dispatch: Dispatch, event: ResourceEvent): Promise<Verdict> {
  try {
    return fromOutcome(event.id, await dispatch(event));
  } catch (err) {
    // A domain error is a verdict about the object; anything else is an outage worth retrying.
    if (isDomainError(err)) {
      return {
        result: { id: event.id, status: 422, reason: err.reason, message: err.message },
        details: err.details,
      };
    }
    return {
      result: {
        id: event.id,
        status: 503,
        reason: 'HandlerFailed',
        message: (err as Error).message ?? String(err),
      },
    };
  }
}

export function createEventRoutes(opts: EventRoutesOptions) {
  if (!opts.secret && !opts.token) {
    throw new Error('createEventRoutes needs a secret (RELAY_SECRET) or a token (EVENTS_TOKEN)');
  }
  const app = new Hono<FunctionsEnv>();
  const maxBatch = opts.maxBatch ?? EVENTS_MAX_BATCH;
  const verifyOptions = () => ({
    secret: opts.secret,
    token: opts.token,
    nowMs: (opts.now ?? Date.now)(),
    replayWindowMs: opts.replayWindowMs,
  });
  const refused = (c: Context, err: EventError) =>
    err.reason === 'PayloadTooLarge'
      ? payloadTooLarge(c, err.message, maxBatch)
      : c.json({ reason: err.reason, message: err.message }, 400);

  // Credentials first, from the headers alone: a request without a valid token or a well-formed,
  // fresh signature is refused before a byte of its body is read.
  app.post('/', async (c, next) => {
    const early = verifyHeadersSync(c.req.raw.headers, verifyOptions());
    if (early && !early.ok) return c.json({ reason: 'Unauthenticated', message: early.message }, 401);
    await next();
  });
  app.post('/', limitBody(opts.maxBytes ?? EVENTS_MAX_BYTES, '/events'));

  app.post('/', async (c) => {
    // The raw text is what was signed; parse only after the signature holds.
    const body = await c.req.text();
    const headers = c.req.raw.headers;
    const auth = verifyRequestSync(headers, body, verifyOptions());
    if (!auth.ok) return c.json({ reason: 'Unauthenticated', message: auth.message }, 401);

    if (isBatch(headers)) {
      let items: ReturnType<typeof decodeBatch>;
      try {
        items = decodeBatch(body, maxBatch);
      } catch (err) {
        if (isEventError(err)) return refused(c, err);
        throw err;
      }
      const results = await Promise.all(
        items.map(async (item): Promise<EventResult> => {
          if (!item.ok) {
            return { id: item.id, status: 400, reason: item.error.reason, message: item.error.message };
          }
          return (await handle(opts.dispatch, item.event)).result;
        }),
      );
      return c.json({ results }, 200);
    }

    let event: ResourceEvent;
    try {
      event = decodeEvent(headers, body);
    } catch (err) {
      if (isEventError(err)) return refused(c, err);
      throw err;
    }
    const { result, details } = await handle(opts.dispatch, event);
    switch (result.status) {
      case 200:
        return c.json(
          { status: 'done', id: event.id, ...(result.produced ? { produced: result.produced } : {}) },
          200,
        );
      case 429:
        c.header('Retry-After', String(Math.max(1, Math.ceil((result.retryAfterMs ?? 0) / 1000))));
        return c.json({ reason: result.reason, message: result.message }, 429);
      case 422:
        return c.json(
          { reason: result.reason, message: result.message, ...(details !== undefined ? { details } : {}) },
          422,
        );
      case 500:
        return c.json({ reason: result.reason, message: result.message }, 500);
      default:
        return c.json({ reason: result.reason, message: result.message }, 503);
    }
  });

  return app;
}
