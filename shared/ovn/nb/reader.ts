// The reading half of the NB writer: rows by name or all of them, from the port cache when one is
// loaded, else from the server; and the retry rule every guarded write uses (a lost guard or a
// dropped connection: read again and try again, with jitter).
import { isDomainError } from '../../domain/errors.ts';
import type { OvsdbClient } from '../../ovsdb/client.ts';
import { ConstraintViolation, isRetryable, WaitFailed } from '../../ovsdb/errors.ts';
import { type Operation, type OperationResult, op } from '../../ovsdb/protocol.ts';
import {
  type LoadBalancer,
  type LogicalSwitch,
  LogicalSwitchColumns,
  type LogicalSwitchPort,
  LogicalSwitchPortColumns,
  loadBalancerFromRow,
  logicalSwitchFromRow,
  logicalSwitchPortFromRow,
  Table,
} from './model.ts';
import { selectAllLoadBalancers } from './ops/load-balancer.ts';
import { selectSwitchByName } from './ops/logical-switch.ts';
import { selectPortByName } from './ops/logical-switch-port.ts';
import type { PortCache } from './port-cache.ts';

/** What the writer needs from a client: one transaction at a time. */
export type Transactor = Pick<OvsdbClient, 'transact'>;

export interface WriterOptions {
  /** Attempts per operation when a guard fails or the connection drops. */
  maxAttempts?: number;
  /**
   * Look ports up here instead of on the server (a long-lived process keeps one; a short-lived
   * one reads from the server). Writes stay guarded either way.
   */
  portCache?: PortCache;
  /** Called before each retry (for logs and metrics): a lost guard or a dropped connection. */
  onRetry?: (what: string, err: unknown, attempt: number) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A guard lost to a concurrent writer, or a connection that dropped: re-read and try again. */
const shouldRetry = (err: unknown) =>
  err instanceof WaitFailed || err instanceof ConstraintViolation || isRetryable(err);

export class NorthboundReader {
  protected readonly maxAttempts: number;
  private readonly portCache: PortCache | undefined;
  /** The port cache once it is loaded; until then reads go to the server. */
  protected get cache(): PortCache | undefined {
    return this.portCache?.ready ? this.portCache : undefined;
  }
  private readonly onRetry: WriterOptions['onRetry'];
  constructor(
    protected readonly client: Transactor,
    opts: WriterOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 30;
    this.portCache = opts.portCache;
    this.onRetry = opts.onRetry;
  }

  /** Runs `attempt` again (with jitter) while it fails for a lost guard or a dropped connection. */
  protected async retry<T>(what: string, attempt: (i: number) => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt(i);
      } catch (err) {
        if (!shouldRetry(err) || i >= this.maxAttempts) {
          if (err instanceof Error && !isDomainError(err))
            err.message = `${what} (attempt ${i}): ${err.message}`;
          throw err;
        }
        this.onRetry?.(what, err, i);
        // Jitter breaks lock-step between racing writers.
        await sleep(Math.random() * Math.min(100, 2 ** i));
      }
    }
  }

  protected read(ops: Operation[]): Promise<OperationResult[]> {
    return this.client.transact(ops);
  }

  // ----------------------------------------------------------------------------- readers

  async getLogicalSwitch(name: string): Promise<LogicalSwitch | undefined> {
    const [r] = await this.read([selectSwitchByName(name)]);
    const row = r?.rows?.[0];
    return row ? logicalSwitchFromRow(row) : undefined;
  }

  /** Every logical switch, without its `ports` column (the audit looks for orphans). */
  async listLogicalSwitches(): Promise<LogicalSwitch[]> {
    const [r] = await this.read([op.select(Table.LogicalSwitch, [], LogicalSwitchColumns)]);
    return (r?.rows ?? []).map(logicalSwitchFromRow);
  }

  async getPort(name: string): Promise<LogicalSwitchPort | undefined> {
    if (this.cache) return this.cache.get(name);
    const [r] = await this.read([selectPortByName(name)]);
    const row = r?.rows?.[0];
    return row ? logicalSwitchPortFromRow(row) : undefined;
  }

  /** Ports of one switch (by its `ports` references, one consistent snapshot), or of all switches. */
  async listPorts(filter: { switchName?: string } = {}): Promise<LogicalSwitchPort[]> {
    if (!filter.switchName) {
      const [r] = await this.read([op.select(Table.LogicalSwitchPort, [], LogicalSwitchPortColumns)]);
      return (r?.rows ?? []).map(logicalSwitchPortFromRow);
    }
    const [sw, ports] = await this.read([
      selectSwitchByName(filter.switchName, ['_uuid', 'ports']),
      op.select(Table.LogicalSwitchPort, [], LogicalSwitchPortColumns),
    ]);
    const swRow = sw?.rows?.[0];
    if (!swRow) return [];
    const members = new Set(logicalSwitchFromRow({ ...swRow, name: filter.switchName }).ports);
    return (ports?.rows ?? []).map(logicalSwitchPortFromRow).filter((p) => members.has(p.uuid));
  }

  async listLoadBalancers(): Promise<LoadBalancer[]> {
    const [r] = await this.read([selectAllLoadBalancers()]);
    return (r?.rows ?? []).map(loadBalancerFromRow);
  }
}
