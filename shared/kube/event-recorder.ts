// Kubernetes Events (events.k8s.io/v1) as client-go's new EventRecorder writes them: the first
// occurrence creates an Event; repeats of the same (object, type, reason, action, note) within
// the isolation window are counted into its `series` (count, lastObservedTime) and written as a
// patch at most every `seriesFlushMs`, never as one object per retry; a token bucket per object
// bounds how many Events it can make. Recording is fire-and-forget: nothing here throws into a
// reconcile, failures are logged at debug and dropped (an Event is a hint, not state).
import { randomBytes } from 'node:crypto';
import type { EventRecorder, RecordedEvent } from '../reconcile/deps.ts';
import type { KubeTransport } from './transport.ts';

/** Where Events are written (the API server, through shared/kube's transport). */
export interface EventSink {
  create(namespace: string, event: KubeEvent): Promise<void>;
  patchSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

export interface EventSeries {
  count: number;
  /** RFC 3339 with microseconds (MicroTime). */
  lastObservedTime: string;
}

export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note: string;
  type: 'Normal' | 'Warning';
  regarding: RecordedEvent['regarding'];
  series?: EventSeries;
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** `reportingController` (default `kubeovn.io/vip-functions`). */
  controller?: string;
  /** `reportingInstance` (default: the host name). */
  instance?: string;
  now?: () => Date;
  /** Repeats later than this after the last one start a new Event (client-go: 6 minutes). */
  isolationMs?: number;
  /** A series is written at most this often; counts in between wait (default 10 s). */
  seriesFlushMs?: number;
  /** Events created per object at most in a burst (default 25, as client-go's spam filter). */
  burst?: number;
  /** One more Event per object allowed every this many ms (default 5 minutes, as client-go). */
  refillMs?: number;
  /** Distinct event keys remembered (oldest forgotten first; default 4,096). */
  maxKeys?: number;
  log?: { debug(obj: object, msg?: string): void };
  /** Which types are recorded (default both); the rest are ignored at once. */
  types?: readonly ('Normal' | 'Warning')[];
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  /** Count the API server has. */
  written: number;
  lastObserved: Date;
  lastWriteAt: number;
  /** Creation in flight: patches wait for it. */
  created: Promise<boolean>;
  timer?: ReturnType<typeof setTimeout>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface KubeEventRecorder extends EventRecorder {
  /** Writes every counted repeat now and waits for all writes (tests, shutdown). */
  flush(): Promise<void>;
  /** Events not created because their object ran out of tokens, since the start. */
  readonly throttled: number;
}

const NOTE_LIMIT = 1024;

export function createEventRecorder(o: EventRecorderOptions): KubeEventRecorder {
  const now = o.now ?? (() => new Date());
  const controller = o.controller ?? 'kubeovn.io/vip-functions';
  const instance = o.instance ?? process.env.HOSTNAME ?? 'local';
  const isolationMs = o.isolationMs ?? 6 * 60_000;
  const flushMs = o.seriesFlushMs ?? 10_000;
  const burst = o.burst ?? 25;
  const refillMs = o.refillMs ?? 5 * 60_000;
  const maxKeys = o.maxKeys ?? 4096;
  const series = new Map<string, Series>();
  const buckets = new Map<string, Bucket>();
  const writes = new Set<Promise<unknown>>();
  let throttled = 0;
  const types = new Set(o.types ?? ['Normal', 'Warning']);

  const track = (p: Promise<unknown>) => {
    const q = p
      .catch((err) => o.log?.debug({ err: String(err) }, 'could not write an Event'))
      .finally(() => writes.delete(q));
    writes.add(q);
  };

  function take(objectKey: string, at: number): boolean {
    const b = buckets.get(objectKey) ?? { tokens: burst, at };
    b.tokens = Math.min(burst, b.tokens + (at - b.at) / refillMs);
    b.at = at;
    buckets.delete(objectKey);
    buckets.set(objectKey, b);
    while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  function writeSeries(s: Series): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    if (s.written >= s.count) return;
    const count = s.count;
    s.lastWriteAt = now().getTime();
    track(
      s.created.then(async (ok) => {
        if (!ok) return;
        await o.sink.patchSeries(s.namespace, s.name, { count, lastObservedTime: microTime(s.lastObserved) });
        s.written = Math.max(s.written, count);
      }),
    );
  }

  return {
    get throttled() {
      return throttled;
    },
    record(e) {
      if (!types.has(e.type)) return;
      try {
        const at = now();
        const note = e.note.length > NOTE_LIMIT ? `${e.note.slice(0, NOTE_LIMIT - 3)}...` : e.note;
        const r = e.regarding;
        const objectKey = `${r.kind}/${r.namespace ?? ''}/${r.name}/${r.uid ?? ''}`;
        const key = `${objectKey}\0${e.type}\0${e.reason}\0${e.action}\0${note}`;
        const known = series.get(key);
        if (known && at.getTime() - known.lastObserved.getTime() < isolationMs) {
          known.count++;
          known.lastObserved = at;
          // The first repeat shows at once (a series exists); later ones at most every flushMs.
          const due = known.count === 2 || at.getTime() - known.lastWriteAt >= flushMs;
          if (due) writeSeries(known);
          else if (!known.timer) {
            known.timer = setTimeout(() => writeSeries(known), known.lastWriteAt + flushMs - at.getTime());
            known.timer.unref?.();
          }
          return;
        }
        if (known?.timer) clearTimeout(known.timer);
        if (!take(objectKey, at.getTime())) {
          throttled++;
          return;
        }
        // Cluster-scoped objects' Events go to `default`, as client-go puts them.
        const namespace = r.namespace || 'default';
        const name = `${r.name}.${at.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
        const event: KubeEvent = {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace },
          eventTime: microTime(at),
          reportingController: controller,
          reportingInstance: instance,
          action: e.action,
          reason: e.reason,
          note,
          type: e.type,
          regarding: r,
        };
        const created = o.sink.create(namespace, event).then(
          () => true,
          (err) => {
            o.log?.debug({ err: String(err), reason: e.reason, name: r.name }, 'could not create an Event');
            return false;
          },
        );
        track(created);
        series.delete(key);
        series.set(key, {
          namespace,
          name,
          count: 1,
          written: 1,
          lastObserved: at,
          lastWriteAt: at.getTime(),
          created,
        });
        while (series.size > maxKeys) {
          const oldest = series.keys().next().value!;
          const s = series.get(oldest)!;
          if (s.timer) writeSeries(s);
          series.delete(oldest);
        }
      } catch (err) {
        o.log?.debug({ err: String(err) }, 'could not record an Event');
      }
    },
    async flush() {
      for (const s of series.values()) if (s.written < s.count) writeSeries(s);
      while (writes.size > 0) await Promise.all([...writes]);
    },
  };
}

/** MicroTime as the API server writes it: RFC 3339 with six fractional digits. */
export const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** The API server as an EventSink, over shared/kube's JSON transport. */
export function kubeEventSink(transport: KubeTransport): EventSink {
  const base = (ns: string) => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`;
  return {
    async create(namespace, event) {
      await transport.request('POST', { path: base(namespace), body: event });
    },
    async patchSeries(namespace, name, series) {
      await transport.request('PATCH', {
        path: `${base(namespace)}/${encodeURIComponent(name)}`,
        body: { series },
        contentType: 'application/merge-patch+json',
      });
    },
  };
}
