// Keeps every Vip's `status.holder` equal to the parent OVN binds its address to: a monitor on the
// southbound Port_Binding of virtual ports, and a merge patch of the Vip's status when it differs.
// A periodic pass over the Vips repairs a holder that a concurrent status write put back.
import { isNotFound } from '../kube/errors.ts';
import { OvsdbClient } from '../ovsdb/client.ts';
import { type Row, where } from '../ovsdb/protocol.ts';
import {
  applyBindingUpdates,
  BINDING_COLUMNS,
  bindingFromRow,
  holderChanges,
  holdersByVip,
  PORT_BINDING,
} from './mapping.ts';

/** What the loop needs from the Kubernetes client (shared/kube's Kube satisfies it). */
export interface HolderKube {
  listVips(): Promise<{ metadata: { name: string }; status?: { holder?: string } }[]>;
  patchStatus(kind: 'Vip', name: string, status: object): Promise<unknown>;
}

export interface HolderSyncOptions {
  /** Southbound remotes (`tcp:127.0.0.1:PORT`). */
  sbRemotes: string[];
  kube: HolderKube;
  /** How often the Vips' shown holders are compared with OVN's (default 2000 ms). */
  resyncMs?: number;
  log?: (line: string) => void;
  /** Told after a Vip's shown holder was changed from `from` ('' = none) to `to` (metrics, Events). */
  onChange?: (vip: string, from: string, to: string) => void;
}

export interface HolderSync {
  /** Resolves when the southbound leader answers (readiness). */
  ping(): Promise<void>;
  /** The holder per Vip as OVN binds it now. */
  current(): Map<string, string>;
  /** Resolves after the next write pass (for tests and orderly shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHolderSync(o: HolderSyncOptions): Promise<HolderSync> {
  const log = o.log ?? (() => {});
  let rows = new Map<string, Row>();
  /** What we last wrote or saw on each Vip. */
  const shown = new Map<string, string>();
  let stopped = false;
  let pass: Promise<void> = Promise.resolve();
  let pending = false;

  const desired = () => holdersByVip([...rows.values()].map(bindingFromRow));

  // Nothing is written before the first resync has read what the Vips show: a holder that is
  // already there is neither rewritten nor reported as a change after a restart.
  let primed = false;
  const write = async () => {
    if (!primed) return;
    for (const { vip, holder } of holderChanges(desired(), shown)) {
      try {
        await o.kube.patchStatus('Vip', vip, { holder });
        const from = shown.get(vip) ?? '';
        shown.set(vip, holder);
        log(`vip ${vip}: holder ${holder || '(none)'}`);
        if (from !== holder) o.onChange?.(vip, from, holder);
      } catch (err) {
        // No Vip (yet, or any more): forget it; the next pass or update retries if it comes back.
        if (isNotFound(err)) shown.set(vip, holder);
        else log(`vip ${vip}: holder write failed: ${(err as Error).message}`);
      }
    }
  };
  // One pass at a time; updates that arrive meanwhile are folded into one more pass.
  const schedule = () => {
    if (pending || stopped) return pass;
    pending = true;
    pass = pass.then(async () => {
      pending = false;
      if (!stopped) await write();
    });
    return pass;
  };

  const client = new OvsdbClient({ remotes: o.sbRemotes, database: 'OVN_Southbound' });
  client.start();
  await client.monitor({
    tables: {
      [PORT_BINDING]: { columns: BINDING_COLUMNS, where: [where('type', '==', 'virtual')] },
    },
    onUpdate: (updates, { reset }) => {
      rows = applyBindingUpdates(rows, updates, reset);
      void schedule();
    },
  });

  const resync = async () => {
    try {
      const vips = await o.kube.listVips();
      shown.clear();
      for (const v of vips) shown.set(v.metadata.name, v.status?.holder ?? '');
      primed = true;
      await write();
    } catch (err) {
      log(`holder resync failed: ${(err as Error).message}`);
    }
  };
  // Runs inside the chain of passes, like the writes, so the two never interleave.
  const queueResync = () => {
    pass = pass.then(resync);
    return pass;
  };
  await queueResync();
  const timer = setInterval(() => void queueResync(), o.resyncMs ?? 2000);
  timer.unref();

  return {
    ping: () => client.echo(2_000),
    current: desired,
    flush: () => schedule(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      client.close();
      await pass.catch(() => {});
    },
  };
}
