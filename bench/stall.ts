// The longest the event loop went without running (what an event arriving then waits), from
// Node's own event-loop delay histogram at 1 ms resolution.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export function watchStalls(): { stop(): number } {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return {
    /** Stops watching; the longest stall in ms. */
    stop() {
      h.disable();
      return h.max / 1e6;
    },
  };
}
