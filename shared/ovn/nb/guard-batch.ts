// Guard-only checks (waits that write nothing) sent together: a relist of N settled pods costs a
// few guard transactions instead of N. Apart from the writer because it is a batching mechanism of
// its own, with its own failure rule.
import { WaitFailed } from '../../ovsdb/errors.ts';
import type { Operation } from '../../ovsdb/protocol.ts';
import { BatchQueue, upTo } from './batch-queue.ts';
import type { Transactor } from './writer.ts';

/** Guard-only checks in one transaction at most (each a wait on one port row). */
const MAX_GUARDS_PER_TRANSACTION = 256;

interface PendingGuard {
  op: Operation;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GuardBatch {
  private readonly queue: BatchQueue<PendingGuard>;

  constructor(private readonly client: Transactor) {
    this.queue = new BatchQueue(upTo(MAX_GUARDS_PER_TRANSACTION), (batch) => this.settle(batch));
  }

  /**
   * Checks one guard (a wait) on the server, as a transaction of its own would: resolves if it
   * held, rejects with WaitFailed (index 0) if not. Guards asked for while a check is out go
   * together in the next transaction, sent as soon as that one ends, so each is still evaluated
   * after its caller asked (after its API read). A wait that held inside a transaction that a
   * later wait aborted held all the same (a wait writes nothing); the waits after the failed one
   * were not evaluated and go into the next transaction.
   */
  check(guard: Operation): Promise<void> {
    return new Promise<void>((resolve, reject) => this.queue.add({ op: guard, resolve, reject }));
  }

  private async settle(batch: PendingGuard[]): Promise<void> {
    try {
      await this.client.transact(batch.map((g) => g.op));
      for (const g of batch) g.resolve();
    } catch (err) {
      if (err instanceof WaitFailed && err.index < batch.length) {
        const at = err.index;
        for (const g of batch.slice(0, at)) g.resolve();
        batch[at]!.reject(new WaitFailed(0, err.op, err.error, err.details));
        this.queue.requeue(batch.slice(at + 1));
      } else for (const g of batch) g.reject(err);
    }
  }
}
