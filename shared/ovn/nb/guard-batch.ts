// Guard-only checks (waits that write nothing) sent together: a relist of N settled pods costs a
// few guard transactions instead of N. Apart from the writer because it is a batching mechanism of
// its own, with its own failure rule.
import { WaitFailed } from '../../ovsdb/errors.ts';
import type { Operation, OperationResult } from '../../ovsdb/protocol.ts';
import type { Transactor } from './writer.ts';

/** Guard-only checks in one transaction at most (each a wait on one port row). */
const MAX_GUARDS_PER_TRANSACTION = 256;

interface PendingGuard {
  op: Operation;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GuardBatch {
  /** Checks waiting for the next transaction, and whether one is out. */
  private pending: PendingGuard[] = [];
  private out = false;

  constructor(private readonly client: Transactor) {}

  /**
   * Checks one guard (a wait) on the server, as a transaction of its own would: resolves if it
   * held, rejects with WaitFailed (index 0) if not. Guards asked for while a check is out go
   * together in the next transaction, sent as soon as that one ends, so each is still evaluated
   * after its caller asked (after its API read). A wait that held inside a transaction that a
   * later wait aborted held all the same (a wait writes nothing); the waits after the failed one
   * were not evaluated and go into the next transaction.
   */
  check(guard: Operation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ op: guard, resolve, reject });
      if (!this.out) this.send();
    });
  }

  private send(): void {
    const batch = this.pending.splice(0, MAX_GUARDS_PER_TRANSACTION);
    if (batch.length === 0) return;
    this.out = true;
    let sent: Promise<OperationResult[]>;
    try {
      sent = this.client.transact(batch.map((g) => g.op));
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent
      .then(
        () => {
          for (const g of batch) g.resolve();
        },
        (err: unknown) => {
          if (err instanceof WaitFailed && err.index < batch.length) {
            const at = err.index;
            for (const g of batch.slice(0, at)) g.resolve();
            batch[at]!.reject(new WaitFailed(0, err.op, err.error, err.details));
            this.pending.unshift(...batch.slice(at + 1));
          } else for (const g of batch) g.reject(err);
        },
      )
      .finally(() => {
        this.out = false;
        this.send();
      });
  }
}
