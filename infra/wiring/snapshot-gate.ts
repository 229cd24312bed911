// When a started replica asks for its port cache's snapshot. Composing a 120,000-port monitor
// reply occupies ovsdb-server (one thread) for seconds, during which every NB transaction, this
// replica's first events' included, waits. So the snapshot is asked for once the first events are
// done: after the first event, when none has been in flight for `quietMs`; at the latest `maxMs`
// after the first event (a relist keeps a replica busy for minutes: reads go to the server until
// then); or after `noEventMs` when no event comes at all (a quiet cluster sends none).

export interface SnapshotGateOptions {
  noEventMs: number;
  quietMs: number;
  maxMs: number;
}

export interface SnapshotGate {
  /** Settles when the snapshot may be asked for. */
  readonly opened: Promise<void>;
  /** An event started. */
  started(): void;
  /** An event ended (handled or failed). */
  finished(): void;
}

export function createSnapshotGate(o: SnapshotGateOptions): SnapshotGate {
  let open!: () => void;
  let isOpen = false;
  const timers = new Set<NodeJS.Timeout>();
  const after = (ms: number) => {
    const t = setTimeout(openNow, ms);
    t.unref();
    timers.add(t);
    return t;
  };
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  function openNow() {
    if (isOpen) return;
    isOpen = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    open();
  }
  let waiting: NodeJS.Timeout | undefined = after(o.noEventMs);
  let seen = false;
  let inFlight = 0;
  let quiet: NodeJS.Timeout | undefined;
  return {
    opened,
    started() {
      inFlight++;
      if (isOpen) return;
      if (quiet) clearTimeout(quiet);
      quiet = undefined;
      if (!seen) {
        seen = true;
        if (waiting) clearTimeout(waiting);
        waiting = after(o.maxMs);
      }
    },
    finished() {
      inFlight = Math.max(0, inFlight - 1);
      if (isOpen) return;
      if (!seen) {
        // An end without a start (a caller that only reports ends): the first event all the same.
        seen = true;
        if (waiting) clearTimeout(waiting);
        waiting = after(o.maxMs);
      }
      if (inFlight === 0) {
        if (quiet) clearTimeout(quiet);
        quiet = after(o.quietMs);
      }
    },
  };
}
