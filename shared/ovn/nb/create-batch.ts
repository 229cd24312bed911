// New ports of one switch created together. ovsdb-server's cost of adding to a switch's `ports`
// grows with the set (at 10,000 ports ~110 of its ~170 µs per transaction: the set's copy, the
// old/new comparison for reference counts, the diff it logs) and is paid once per mutate, so k
// ports created in one transaction with one mutate cost it about what one port does. Apart from
// the writer because it is a batching mechanism of its own, with its own failure rule.
import { isRetryable, WaitFailed } from '../../ovsdb/errors.ts';
import type { OperationResult } from '../../ovsdb/protocol.ts';
import { BatchQueue } from './batch-queue.ts';
import { requireSwitch } from './ops/logical-switch.ts';
import { createPortsOps, type PortSpec } from './ops/logical-switch-port.ts';
import type { Transactor } from './writer.ts';

/** Ports in one transaction at most (a request of more goes alone). */
const MAX_PORTS_PER_TRANSACTION = 128;

interface PendingCreate {
  specs: readonly PortSpec[];
  resolve: (uuids: string[]) => void;
  reject: (err: unknown) => void;
}

export class CreateBatch {
  /** Per switch with creations waiting or out (each switch's batches go one at a time). */
  private readonly switches = new Map<string, BatchQueue<PendingCreate>>();
  /** Transactions sent and ports they carried (for tests and metrics). */
  readonly sent = { transactions: 0, ports: 0 };

  constructor(private readonly client: Transactor) {}

  /**
   * Inserts the ports into the switch, as one transaction of their own would (`wait` that the
   * switch exists, the inserts, one mutate of its `ports`): resolves with their uuids in order,
   * or rejects with that transaction's error (WaitFailed at index 0: no such switch). The first
   * request goes out at once; the ones made while it is out go together in the next transaction,
   * sent as soon as it ends. If a transaction of several requests fails for a reason other than
   * the switch or the connection (a name already taken), each request is sent again alone, so a
   * refused port fails only its own caller.
   */
  create(switchName: string, specs: readonly PortSpec[]): Promise<string[]> {
    let queue = this.switches.get(switchName);
    if (!queue) {
      queue = new BatchQueue(
        takePorts,
        (batch) => this.settle(switchName, batch),
        () => this.switches.delete(switchName),
      );
      this.switches.set(switchName, queue);
    }
    const q = queue;
    return new Promise<string[]>((resolve, reject) => q.add({ specs, resolve, reject }));
  }

  private async transact(switchName: string, specs: readonly PortSpec[]): Promise<string[]> {
    this.sent.transactions++;
    this.sent.ports += specs.length;
    const results: OperationResult[] = await this.client.transact([
      requireSwitch(switchName),
      ...createPortsOps(switchName, specs),
    ]);
    // requireSwitch is operation 0, insert i is operation i + 1.
    return specs.map((_, i) => results[i + 1]!.uuid!);
  }

  private async settle(switchName: string, batch: PendingCreate[]): Promise<void> {
    try {
      const uuids = await this.transact(
        switchName,
        batch.flatMap((r) => r.specs),
      );
      let at = 0;
      for (const r of batch) {
        r.resolve(uuids.slice(at, at + r.specs.length));
        at += r.specs.length;
      }
    } catch (err) {
      const sharedCause = (err instanceof WaitFailed && err.index === 0) || isRetryable(err);
      if (batch.length === 1 || sharedCause) {
        for (const r of batch) r.reject(err);
        return;
      }
      await Promise.all(batch.map((r) => this.transact(switchName, r.specs).then(r.resolve, r.reject)));
    }
  }
}

/** Requests up to MAX_PORTS_PER_TRANSACTION ports in all (one larger request goes alone). */
function takePorts(pending: PendingCreate[]): PendingCreate[] {
  let ports = 0;
  let n = 0;
  while (n < pending.length) {
    const next = pending[n]!.specs.length;
    if (n > 0 && ports + next > MAX_PORTS_PER_TRANSACTION) break;
    ports += next;
    n++;
  }
  return pending.splice(0, n);
}
