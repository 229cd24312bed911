// Restarts the local stack's daemons when they end without being asked to, per the restart policy
// (restart-policy.ts), logging each restart and its reason.
import { DEFAULT_RESTART_POLICY, decideRestart, type RestartPolicy } from './restart-policy.ts';
import { type Daemon, type DaemonExit, describeExit, sleep } from './services.ts';

export interface Supervisor {
  /**
   * Restarts `daemon` with `respawn` when it ends without a stop() asking for it, per the restart
   * policy, and logs each restart with its reason; `replace` puts the new handle in place.
   * `rewatch: false` when `respawn` watches the new daemon itself.
   */
  watch<D extends Daemon>(
    label: string,
    daemon: D,
    respawn: (old: D) => Promise<D>,
    replace: (next: D) => void,
    where: (d: D) => string,
    opts?: { rewatch?: boolean },
  ): void;
  stop(): Promise<void>;
}

export function createSupervisor(
  log: (line: string) => void,
  heal: boolean | Partial<RestartPolicy> | undefined,
): Supervisor {
  const enabled = heal !== false;
  const policy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...(typeof heal === 'object' ? heal : {}) };
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  // Restart times per label: a replica restarted by startReplica is a new handle, the same service.
  const histories = new Map<string, number[]>();

  const supervisor: Supervisor = {
    watch(label, daemon, respawn, replace, where, { rewatch = true } = {}) {
      if (!enabled) return;
      void daemon.exited.then((exit: DaemonExit) => {
        if (stopping || exit.requested) return;
        const work = restart(label, daemon, describeExit(exit), respawn, replace, where, rewatch);
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      });
    },
    async stop() {
      stopping = true;
      await Promise.allSettled([...inFlight]);
    },
  };

  async function restart<D extends Daemon>(
    label: string,
    dead: D,
    reason: string,
    respawn: (old: D) => Promise<D>,
    replace: (next: D) => void,
    where: (d: D) => string,
    rewatch: boolean,
  ) {
    const history = histories.get(label) ?? [];
    histories.set(label, history);
    let why = `(pid ${dead.pid}) ended: ${reason}`;
    for (;;) {
      const decision = decideRestart(history, Date.now(), policy);
      if (!decision.restart) {
        log(`${label} ${why}; not restarting it: ${decision.why}`);
        return;
      }
      history.push(Date.now());
      const after = decision.delayMs > 0 ? ` in ${decision.delayMs} ms` : '';
      log(`${label} ${why}; restarting it${after} (${where(dead)}; restart ${decision.attempt})`);
      if (decision.delayMs > 0) await sleep(decision.delayMs);
      if (stopping) return;
      try {
        const next = await respawn(dead);
        if (stopping) {
          await next.stop();
          return;
        }
        replace(next);
        log(`${label} is back as pid ${next.pid}`);
        if (rewatch) supervisor.watch(label, next, respawn, replace, where);
        return;
      } catch (err) {
        why = `did not come back: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
  return supervisor;
}
