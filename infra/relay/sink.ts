// Sends one change to the function replica its key routes to, as a signed CloudEvent, and classes
// the answer by the retry contract: 2xx done; 429 and 5xx retry; any other 4xx never succeeds.
import { encodeResourceEvent, type HttpEncoding } from '../../shared/events/encode.ts';
import { signBody } from '../../shared/events/signature.ts';
import { parseRetryAfter } from './backoff.ts';
import type { ChangeEvent } from './cache.ts';
import type { Send, SendResult } from './delivery.ts';
import { pickSink } from './routing.ts';

export interface HttpSinkOptions {
  urls: readonly string[];
  /** The API server URL, the events' `source`. */
  source: string;
  /** RELAY_SECRET: signs each body (HMAC-SHA256). */
  secret?: string;
  /** EVENTS_TOKEN: sent as a bearer token. */
  token?: string;
  /** kind -> REST plural for the subject; the shared defaults cover the watched kinds. */
  plurals?: ReadonlyMap<string, string>;
  encoding?: HttpEncoding;
  timeoutMs?: number;
  /** Called with the URL each event went to (stats, tests). */
  onRouted?: (url: string, event: ChangeEvent) => void;
}

export function classifyResponse(status: number, retryAfter: string | null, detail: string): SendResult {
  if (status >= 200 && status < 300) return { outcome: 'done' };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return retryAfterMs === undefined
      ? { outcome: 'retry', detail: `HTTP ${status} ${detail}` }
      : { outcome: 'retry', detail: `HTTP ${status} ${detail}`, retryAfterMs };
  }
  return { outcome: 'drop', detail: `HTTP ${status} ${detail}` };
}

export function createHttpSink(opts: HttpSinkOptions): Send {
  if (opts.urls.length === 0) throw new Error('at least one sink URL is needed');
  return async (event, signal) => {
    const url = pickSink(event.key, opts.urls);
    const kind = event.object.kind ?? '';
    const plural = opts.plurals?.get(kind);
    const msg = encodeResourceEvent(event.object, {
      action: event.action,
      source: opts.source,
      encoding: opts.encoding ?? 'binary',
      ...(plural ? { plural } : {}),
    });
    const headers: Record<string, string> = { ...msg.headers };
    if (opts.secret) Object.assign(headers, await signBody(opts.secret, msg.body));
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    opts.onRouted?.(url, event);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: msg.body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs ?? 30_000)]),
      });
      const text = await res.text().catch(() => '');
      return classifyResponse(res.status, res.headers.get('retry-after'), text.slice(0, 300));
    } catch (err) {
      return { outcome: 'retry', detail: `network: ${(err as Error).message}` };
    }
  };
}
