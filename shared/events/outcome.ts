// What a handler answers about one event; functions/events maps it onto the HTTP retry contract.
import type { ResourceEvent } from './types.ts';

export type Outcome =
  /**
   * `produced`: resourceVersions of the event's object that this handling wrote itself, each from
   * a state it had reconciled (its writes are resourceVersion-guarded). Their watch events echo
   * nothing new, so a sender may drop them (the relay does); Knative ignores the field.
   */
  | { status: 'done'; produced?: string[] }
  /** Try again later (dependency down, write conflict): HTTP 503, or 429 with Retry-After when timed. */
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  /** The event can never succeed as it is (invalid object): HTTP 422; the sender must not retry. */
  | { status: 'rejected'; reason: string; message: string }
  /**
   * The handler failed in a way that is not an outage (a bug, a misconfiguration): HTTP 500. A
   * sender retries it a bounded number of times, then parks it and reports it (the relay does).
   */
  | { status: 'failed'; reason: string; message: string };

export type Dispatch = (event: ResourceEvent) => Promise<Outcome>;
