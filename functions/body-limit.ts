// Request-body limits shared by every route group. Hono's bodyLimit refuses a Content-Length above
// the cap before reading anything and cuts a chunked body off as soon as it passes the cap, so no
// body is ever buffered beyond it. The answer is 413 PayloadTooLarge naming the limit; Node then
// closes the connection itself (`Connection: close`, the request was not read to its end).
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../shared/json-depth.ts';

/** /v1: a subnet or reservation request is a few hundred bytes. */
export const V1_MAX_BYTES = 1024 * 1024;
/** /admission: an AdmissionReview of an UPDATE carries the old and new object, 1.5 MB each at most. */
export const ADMISSION_MAX_BYTES = 3 * 1024 * 1024;
/** /events: a batch of the relay (64 events by default) of ordinary objects, with room to spare. */
export const EVENTS_MAX_BYTES = 16 * 1024 * 1024;
/** /events: events in one batch; the relay sends up to 64 (infra/relay/sink.ts). */
export const EVENTS_MAX_BATCH = 256;

export const PAYLOAD_TOO_LARGE = 'PayloadTooLarge';
export const NESTING_TOO_DEEP = 'NestingTooDeep';

const size = (bytes: number) =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes >= 1024 && bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;

/** The 413 answer, also for limits counted after reading (events per batch). */
export function payloadTooLarge(c: Context, message: string, limit: number) {
  return c.json({ reason: PAYLOAD_TOO_LARGE, message, details: { limit: String(limit) } }, 413);
}

/** Caps the body of every request through this middleware at `maxBytes`. */
export function limitBody(maxBytes: number, what: string): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      payloadTooLarge(
        c,
        `the request body is larger than ${size(maxBytes)} (${maxBytes} bytes), the limit for ${what}`,
        maxBytes,
      ),
  });
}

/** The 400 answer for a JSON text nesting deeper than MAX_JSON_DEPTH, or undefined when it does not. */
export function refuseDeepJson(c: Context, text: string, field = 'body') {
  if (!jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) return undefined;
  return c.json(
    {
      reason: NESTING_TOO_DEEP,
      message: `the JSON ${field} nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`,
      details: { field, limit: String(MAX_JSON_DEPTH) },
    },
    400,
  );
}
