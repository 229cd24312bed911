// The batching the writer's guard checks, creations and deletions share: one batch out at a time,
// and the requests made while it is out go together in the next one, sent as soon as it ends. So a
// lone request goes at once, and N concurrent ones cost about one transaction instead of N. What a
// batch holds and how its failure is split among its requests is each user's own rule.

export interface BatchRequest {
  reject(err: unknown): void;
}

export class BatchQueue<R extends BatchRequest> {
  private pending: R[] = [];
  private out = false;

  /**
   * @param take removes the next batch from the front of `pending` and returns it.
   * @param settle sends a batch and resolves or rejects each of its requests.
   * @param onIdle called when a batch ended and nothing waits.
   */
  constructor(
    private readonly take: (pending: R[]) => R[],
    private readonly settle: (batch: R[]) => Promise<void>,
    private readonly onIdle?: () => void,
  ) {}

  add(request: R): void {
    this.pending.push(request);
    if (!this.out) this.next();
  }

  /** Requests a batch did not get to (a guard after the one that failed): first in the next batch. */
  requeue(requests: R[]): void {
    this.pending.unshift(...requests);
  }

  private next(): void {
    const batch = this.take(this.pending);
    if (batch.length === 0) {
      this.onIdle?.();
      return;
    }
    this.out = true;
    let running: Promise<void>;
    try {
      running = this.settle(batch);
    } catch (err) {
      running = Promise.reject(err);
    }
    void running
      .catch((err: unknown) => {
        // A settle that threw leaves no caller waiting for ever (settling twice is a no-op).
        for (const r of batch) r.reject(err);
      })
      .finally(() => {
        this.out = false;
        this.next();
      });
  }
}

/** The first `n` requests. */
export const upTo =
  (n: number) =>
  <R>(pending: R[]): R[] =>
    pending.splice(0, n);
