// What one try to deliver an event answers: the contract between the delivery (delivery.ts), which
// decides from it whether a key is done, retried, parked or dropped, and the sink (sink.ts), which
// maps an HTTP answer onto it.
import type { ChangeEvent } from './cache.ts';

export type SendResult =
  /** `produced`: resourceVersions of the event's object the handler wrote itself (echoes to drop). */
  | { outcome: 'done'; produced?: string[] }
  /**
   * An outage: 429, 502-504 or another 5xx, or a network error (`unreachable`: no answer at all).
   * Retried until it succeeds, however long that takes.
   */
  | { outcome: 'retry'; detail: string; retryAfterMs?: number; unreachable?: boolean }
  /** HTTP 500: the handler failed, and not because something was down. Retried, then parked. */
  | { outcome: 'failed'; detail: string }
  /** Any other 4xx: the receiver says this event can never succeed. `reason` from its answer. */
  | { outcome: 'drop'; detail: string; reason?: string };

export type Send = (event: ChangeEvent, signal: AbortSignal) => Promise<SendResult>;
