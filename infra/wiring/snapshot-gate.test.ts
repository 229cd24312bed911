import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSnapshotGate } from './snapshot-gate.ts';

const options = { noEventMs: 5_000, quietMs: 250, maxMs: 15_000 };

describe('the port snapshot gate of a started replica', () => {
  let open: boolean;
  beforeEach(() => {
    vi.useFakeTimers();
    open = false;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const watch = (gate: ReturnType<typeof createSnapshotGate>) => {
    void gate.opened.then(() => {
      open = true;
    });
  };

  it('opens when the first events are done and none is in flight for quietMs', async () => {
    const gate = createSnapshotGate(options);
    watch(gate);
    gate.started();
    gate.started();
    gate.finished();
    await vi.advanceTimersByTimeAsync(1_000); // one still in flight: not yet
    expect(open).toBe(false);
    gate.finished();
    await vi.advanceTimersByTimeAsync(200);
    gate.started(); // another event before the quiet period ended
    await vi.advanceTimersByTimeAsync(300);
    expect(open).toBe(false);
    gate.finished();
    await vi.advanceTimersByTimeAsync(249);
    expect(open).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(open).toBe(true);
  });

  it('opens maxMs after the first event while events keep coming', async () => {
    const gate = createSnapshotGate(options);
    watch(gate);
    gate.started();
    for (let t = 0; t < 14_900; t += 100) {
      gate.started();
      gate.finished();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(open).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(open).toBe(true);
  });

  it('opens after noEventMs when no event comes, and an end alone counts as a first event', async () => {
    const quiet = createSnapshotGate(options);
    watch(quiet);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(open).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(open).toBe(true);

    open = false;
    const ended = createSnapshotGate(options);
    watch(ended);
    ended.finished();
    await vi.advanceTimersByTimeAsync(250);
    expect(open).toBe(true);
  });
});
