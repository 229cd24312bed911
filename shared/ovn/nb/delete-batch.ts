// Ports deleted at the same time go together: one mutate of each switch's `ports` per transaction
// rather than one per port (ovsdb-server's cost of that mutate grows with the set, as for
// creations: create-batch.ts).
import { isRetryable } from '../../ovsdb/errors.ts';
import { BatchQueue, upTo } from './batch-queue.ts';
import { deletePortOps, deletePortsOps } from './ops/logical-switch-port.ts';
import type { Transactor } from './writer.ts';

/** Ports in one transaction at most. */
const MAX_PORTS_PER_TRANSACTION = 128;

interface PendingDelete {
  uuid: string;
  /** The switch the port says it is in (its `ls` external id). */
  switchName: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class DeleteBatch {
  private readonly queue: BatchQueue<PendingDelete>;
  /** Transactions sent and ports they carried (for tests and metrics). */
  readonly sent = { transactions: 0, ports: 0 };

  constructor(private readonly client: Transactor) {
    this.queue = new BatchQueue(upTo(MAX_PORTS_PER_TRANSACTION), (batch) => this.settle(batch));
  }

  /**
   * Detaches the port from `switchName` and deletes it, as deletePortOps in a transaction of its
   * own would; a port already gone is a no-op. The first request goes out at once, the ones made
   * while it is out go together in the next transaction. If that fails for a reason other than the
   * connection (a port held by another switch than its `ls` says: still referenced), each is sent
   * again alone the old way (detached from whichever switch holds it).
   */
  delete(uuid: string, switchName: string): Promise<void> {
    return new Promise<void>((resolve, reject) => this.queue.add({ uuid, switchName, resolve, reject }));
  }

  private async transact(ops: Parameters<Transactor['transact']>[0], ports: number) {
    this.sent.transactions++;
    this.sent.ports += ports;
    await this.client.transact(ops);
  }

  private async settle(batch: PendingDelete[]): Promise<void> {
    try {
      await this.transact(deletePortsOps(batch), batch.length);
      for (const d of batch) d.resolve();
    } catch (err) {
      if (isRetryable(err)) {
        for (const d of batch) d.reject(err);
        return;
      }
      await Promise.all(batch.map((d) => this.transact(deletePortOps(d.uuid), 1).then(d.resolve, d.reject)));
    }
  }
}
