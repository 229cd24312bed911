// What a handler answers about one event; functions/events maps it onto the HTTP retry contract.
import type { ResourceEvent } from './types.ts';

export type Outcome =
  | { status: 'done' }
  /** Try again later (dependency down, write conflict): HTTP 503, or 429 with Retry-After when timed. */
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  /** The event can never succeed as it is (invalid object): HTTP 422; the sender must not retry. */
  | { status: 'rejected'; reason: string; message: string };

export type Dispatch = (event: ResourceEvent) => Promise<Outcome>;
