// Micro-batching: requests for the same key that arrive in the same tick of the event loop are
// sent as one call (the per-call cost, EVALSHA plus argument and reply framing, is paid once per
// batch instead of once per request). The flush runs on setImmediate, so every request whose await
// chain resumed from the same I/O event (e.g. one chunk of replies) joins the batch.

export interface BatcherOptions<Req, Res> {
  /** Sends one batch (same key, at most maxBatch requests); resolves with one result per request. */
  readonly send: (key: string, requests: readonly Req[]) => Promise<readonly Res[]>;
  /** Requests per call at most; a bigger tick is sent as several calls. */
  readonly maxBatch: number;
  /** A tick of at least this many requests for one key goes as two calls (or more, by maxBatch),
   *  of equal size, so that Node handles one call's replies while Redis runs the next. Default:
   *  never split below maxBatch. */
  readonly splitAt?: number;
}

/** The sizes of the calls one tick of n requests is sent as: at most maxBatch each, two or more
 *  once n reaches splitAt, as equal as they can be (the first ones one larger). */
export function callSizes(n: number, maxBatch: number, splitAt = Number.POSITIVE_INFINITY): number[] {
  if (n <= 0) return [];
  const calls = Math.max(Math.ceil(n / maxBatch), n >= splitAt ? 2 : 1);
  const base = Math.floor(n / calls);
  const larger = n % calls;
  return Array.from({ length: calls }, (_, i) => base + (i < larger ? 1 : 0));
}

// setImmediate exists in Node, Deno and workerd (nodejs_compat); a timer elsewhere
const later: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

interface Pending<Req, Res> {
  readonly req: Req;
  readonly resolve: (r: Res) => void;
  readonly reject: (e: unknown) => void;
}

export class Batcher<Req, Res> {
  private queues = new Map<string, Pending<Req, Res>[]>();
  private scheduled = false;

  constructor(private readonly opts: BatcherOptions<Req, Res>) {}

  submit(key: string, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) {
        q = [];
        this.queues.set(key, q);
      }
      q.push({ req, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        later(() => this.flush());
      }
    });
  }

  private flush() {
    const queues = this.queues;
    this.queues = new Map();
    this.scheduled = false;
    for (const [key, q] of queues)
      this.sendFrom(key, q, callSizes(q.length, this.opts.maxBatch, this.opts.splitAt), 0);
  }

  // A tick of several calls goes out one call per event-loop turn, not all at once: Redis answers
  // all the calls it read together only after running them all, so calls written together come
  // back together and Node and Redis take turns; staggered, Node handles one call's replies while
  // Redis runs the next. Once two calls of a key are out, their replies come back apart, and the
  // requests each one's replies set off make the next call: the two keep alternating.
  private sendFrom(key: string, q: Pending<Req, Res>[], sizes: number[], from: number) {
    const [size = 0, ...rest] = sizes;
    this.sendOne(key, q.slice(from, from + size));
    if (rest.length > 0) later(() => this.sendFrom(key, q, rest, from + size));
  }

  private sendOne(key: string, batch: Pending<Req, Res>[]) {
    let sent: Promise<readonly Res[]>;
    try {
      sent = this.opts.send(
        key,
        batch.map((p) => p.req),
      );
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (results) => {
        batch.forEach((p, i) => {
          if (i < results.length) p.resolve(results[i] as Res);
          else p.reject(new Error(`batch reply has ${results.length} results for ${batch.length} requests`));
        });
      },
      (e: unknown) => {
        for (const p of batch) p.reject(e);
      },
    );
  }
}
