// New ports of one switch created together. ovsdb-server's cost of adding to a switch's `ports`
// grows with the set (at 10,000 ports ~110 of its ~170 µs per transaction: the set's copy, the
// old/new comparison for reference counts, the diff it logs) and is paid once per mutate, so k
// ports created in one transaction with one mutate cost it about what one port does. Apart from
// the writer because it is a batching mechanism of its own, with its own failure rule.
import { isRetryable, WaitFailed } from '../../ovsdb/errors.ts';
import type { OperationResult } from '../../ovsdb/protocol.ts';
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
  /** Per switch: creations waiting for the next transaction, and whether one is out. */
  private readonly switches = new Map<string, { pending: PendingCreate[]; out: boolean }>();
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
    return new Promise<string[]>((resolve, reject) => {
      const sw = this.switches.get(switchName) ?? { pending: [], out: false };
      this.switches.set(switchName, sw);
      sw.pending.push({ specs, resolve, reject });
      if (!sw.out) this.send(switchName);
    });
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

  private send(switchName: string): void {
    const sw = this.switches.get(switchName);
    if (!sw) return;
    const batch: PendingCreate[] = [];
    let ports = 0;
    while (sw.pending.length > 0) {
      const next = sw.pending[0]!;
      if (batch.length > 0 && ports + next.specs.length > MAX_PORTS_PER_TRANSACTION) break;
      batch.push(sw.pending.shift()!);
      ports += next.specs.length;
    }
    if (batch.length === 0) {
      this.switches.delete(switchName);
      return;
    }
    sw.out = true;
    const settle = async () => {
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
    };
    void settle().finally(() => {
      sw.out = false;
      this.send(switchName);
    });
  }
}
