// One reconcile of an object at a time in this process, and none that another has made moot.
// Events of a Vip and of its parent pods arrive together (the relay batches them) and each
// reconciles the Vip: run at once they collide on its resourceVersion and both start over. Here
// they queue per name, and a queued call returns at once when the run it waited for covers it:
// - a call holding an event copy is covered by a run that read or wrote that very version;
// - a call without one (it only knows something changed) is covered by a run whose view of the
//   object was current after the call arrived (see Flight.freshSince).
// This is per process only: across replicas the resourceVersion guards keep writes correct.
import type { Outcome } from '../events/outcome.ts';

export interface Flight {
  /** resourceVersions this run decided from or wrote. */
  readonly seen: Set<string>;
  /**
   * Set by the run just before a read (or a guarded write) whose success proves its view of the
   * object current from that moment: calls that arrived earlier are covered.
   */
  markFresh(): void;
}

interface Running {
  readonly seen: Set<string>;
  freshSince?: number;
  readonly done: Promise<Outcome | undefined>;
}

let clock = 0;

export class SingleFlight {
  private readonly running = new Map<string, Running>();

  /** Whether a run of `key` is under way in this process. */
  busy(key: string): boolean {
    return this.running.has(key);
  }

  /** Resolves once no run of `key` is under way (its outcome, success or not, does not matter). */
  async idle(key: string): Promise<void> {
    for (let r = this.running.get(key); r; r = this.running.get(key)) await r.done;
  }

  async run(key: string, copyVersion: string | undefined, fn: (flight: Flight) => Promise<Outcome>) {
    const arrived = ++clock;
    for (let other = this.running.get(key); other; other = this.running.get(key)) {
      const outcome = await other.done;
      if (outcome?.status !== 'done') continue;
      const covered =
        copyVersion !== undefined
          ? other.seen.has(copyVersion)
          : other.freshSince !== undefined && other.freshSince > arrived;
      if (covered) return { status: 'done' } satisfies Outcome;
    }
    let finish!: (o: Outcome | undefined) => void;
    const mine: Running = { seen: new Set(), done: new Promise((r) => (finish = r)) };
    this.running.set(key, mine);
    try {
      const outcome = await fn({
        seen: mine.seen,
        markFresh: () => {
          mine.freshSince = ++clock;
        },
      });
      finish(outcome);
      return outcome;
    } catch (err) {
      finish(undefined);
      throw err;
    } finally {
      if (this.running.get(key) === mine) this.running.delete(key);
    }
  }
}

/** One SingleFlight per set of ports (per process in production; per test harness in tests). */
const byOwner = new WeakMap<object, SingleFlight>();
export function singleFlightOf(owner: object): SingleFlight {
  let sf = byOwner.get(owner);
  if (!sf) {
    sf = new SingleFlight();
    byOwner.set(owner, sf);
  }
  return sf;
}
