// Micro-batching: requests for the same key that arrive in the same tick of the event loop are
// sent as one call (the per-call cost, EVALSHA plus argument and reply framing, is paid once per
// batch instead of once per request). The flush runs on setImmediate, so every request whose await
// chain resumed from the same I/O event (e.g. one chunk of replies) joins the batch.
//
// At most two calls of a key are out at once: one that Redis runs and one waiting behind it, so
// Redis goes from one to the next without waiting for Node, and Node handles one call's replies
// (and the requests they set off, which make the next call) while Redis runs the other. Two calls
// written to an idle Redis together would be read together, run together and answered together
// (Redis writes replies once it has run all it read), and Node and Redis would take turns again: so
// when nothing is out, one call goes (half of a big tick) and the rest goes when it answers.

export interface BatcherOptions<Req, Res> {
  /** Sends one batch (same key, at most maxBatch requests); resolves with one result per request. */
  readonly send: (key: string, requests: readonly Req[]) => Promise<readonly Res[]>;
  /** Requests per call at most. */
  readonly maxBatch: number;
  /** With no call of the key out, a queue of at least this many goes as half now and half when
   *  that call answers (default: never; the queue goes as one call, up to maxBatch). */
  readonly splitAt?: number;
  /** Calls of one key out at once at most (default 2). */
  readonly window?: number;
}

/** How many requests the next call of a key takes, given its queue and the calls out. */
export function nextCallSize(
  queued: number,
  out: number,
  maxBatch: number,
  splitAt = Number.POSITIVE_INFINITY,
): number {
  if (out === 0 && queued >= splitAt) return Math.min(maxBatch, Math.ceil(queued / 2));
  return Math.min(maxBatch, queued);
}

// setImmediate exists in Node, Deno and workerd (nodejs_compat); a timer elsewhere
const later: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => setImmediate(f) : (f) => setTimeout(f, 0);

interface Pending<Req, Res> {
  readonly req: Req;
  readonly resolve: (r: Res) => void;
  readonly reject: (e: unknown) => void;
}

interface KeyState<Req, Res> {
  queue: Pending<Req, Res>[];
  out: number;
}

export class Batcher<Req, Res> {
  /** This tick's requests, by key, until the flush. */
  private ticks = new Map<string, Pending<Req, Res>[]>();
  private scheduled = false;
  /** Requests waiting for a call, and calls out, by key (kept only while either is non-empty). */
  private readonly keys = new Map<string, KeyState<Req, Res>>();
  private readonly window: number;

  constructor(private readonly opts: BatcherOptions<Req, Res>) {
    this.window = Math.max(1, opts.window ?? 2);
  }

  submit(key: string, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let q = this.ticks.get(key);
      if (!q) {
        q = [];
        this.ticks.set(key, q);
      }
      q.push({ req, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        later(() => this.flush());
      }
    });
  }

  private flush() {
    const ticks = this.ticks;
    this.ticks = new Map();
    this.scheduled = false;
    for (const [key, q] of ticks) {
      let st = this.keys.get(key);
      if (!st) {
        st = { queue: [], out: 0 };
        this.keys.set(key, st);
      }
      for (const p of q) st.queue.push(p);
      this.pump(key, st, false);
    }
  }

  /**
   * Sends calls while fewer than `window` are out. With none out only one goes (Redis starts on it
   * before the next is written); the rest goes when it answers, or, when a reply finds nothing out
   * and more queued (a burst with no requests of its own coming back), one event-loop turn later.
   */
  private pump(key: string, st: KeyState<Req, Res>, fromReply: boolean) {
    while (st.queue.length > 0 && st.out < this.window) {
      const idle = st.out === 0;
      const size = nextCallSize(st.queue.length, st.out, this.opts.maxBatch, this.opts.splitAt);
      this.sendOne(key, st, st.queue.splice(0, size));
      if (idle) {
        if (fromReply && st.queue.length > 0)
          later(() => {
            const cur = this.keys.get(key);
            if (cur) this.pump(key, cur, false);
          });
        break;
      }
    }
    if (st.queue.length === 0 && st.out === 0) this.keys.delete(key);
  }

  private sendOne(key: string, st: KeyState<Req, Res>, batch: Pending<Req, Res>[]) {
    st.out++;
    let sent: Promise<readonly Res[]>;
    try {
      sent = this.opts.send(
        key,
        batch.map((p) => p.req),
      );
    } catch (e) {
      sent = Promise.reject(e);
    }
    const settle = (each: (p: Pending<Req, Res>, i: number) => void) => {
      st.out--;
      // the next call first, so Redis has it while Node handles these replies
      this.pump(key, st, true);
      batch.forEach(each);
    };
    sent.then(
      (results) =>
        settle((p, i) => {
          if (i < results.length) p.resolve(results[i] as Res);
          else p.reject(new Error(`batch reply has ${results.length} results for ${batch.length} requests`));
        }),
      (e: unknown) => settle((p) => p.reject(e)),
    );
  }
}
