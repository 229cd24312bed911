import { describe, expect, it } from 'vitest';
import type { Outcome } from '../events/outcome.ts';
import { SingleFlight } from './single-flight.ts';

const done: Outcome = { status: 'done' };
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('SingleFlight', () => {
  it('runs one call of a key at a time, other keys alongside', async () => {
    const sf = new SingleFlight();
    const log: string[] = [];
    const call = (key: string, id: string) =>
      sf.run(key, undefined, async () => {
        log.push(`start ${id}`);
        await tick();
        log.push(`end ${id}`);
        return { status: 'retry', reason: 'x' };
      });
    await Promise.all([call('a', '1'), call('a', '2'), call('b', '3')]);
    expect(log.indexOf('end 1')).toBeLessThan(log.indexOf('start 2'));
    expect(log.indexOf('start 3')).toBeLessThan(log.indexOf('end 1'));
  });

  it('a queued call with a copy is covered by a run that saw that version', async () => {
    const sf = new SingleFlight();
    let runs = 0;
    const first = sf.run('v', '5', async (f) => {
      runs++;
      f.seen.add('5');
      await tick();
      f.seen.add('6');
      return done;
    });
    const second = sf.run('v', '6', async () => {
      runs++;
      return done;
    });
    const third = sf.run('v', '7', async () => {
      runs++;
      return done;
    });
    expect(await Promise.all([first, second, third])).toEqual([done, done, done]);
    // 6 was written by the first run: covered. 7 was not seen: it runs.
    expect(runs).toBe(2);
  });

  it('a queued call without a copy is covered only by a run fresh after it arrived', async () => {
    const sf = new SingleFlight();
    let runs = 0;
    // Fresh before the waiter arrives: the waiter must run itself.
    const early = sf.run('v', undefined, async (f) => {
      runs++;
      f.markFresh();
      await tick();
      return done;
    });
    const waiter = sf.run('v', undefined, async () => {
      runs++;
      return done;
    });
    await Promise.all([early, waiter]);
    expect(runs).toBe(2);

    runs = 0;
    let markLate!: () => void;
    const late = sf.run('w', undefined, async (f) => {
      runs++;
      await new Promise<void>((r) => {
        markLate = () => {
          f.markFresh();
          r();
        };
      });
      return done;
    });
    const covered = sf.run('w', undefined, async () => {
      runs++;
      return done;
    });
    await tick();
    markLate(); // the running call reads after the waiter arrived
    await Promise.all([late, covered]);
    expect(runs).toBe(1);
  });

  it('a run that failed or asked to retry covers nothing', async () => {
    const sf = new SingleFlight();
    let runs = 0;
    const failing = sf.run('v', '5', async (f) => {
      runs++;
      f.seen.add('5');
      await tick();
      throw new Error('down');
    });
    const waiter = sf.run('v', '5', async () => {
      runs++;
      return done;
    });
    await expect(failing).rejects.toThrow('down');
    expect(await waiter).toEqual(done);
    expect(runs).toBe(2);
  });

  it('busy while a run of the key is under way; idle resolves once none is, failed runs included', async () => {
    const sf = new SingleFlight();
    expect(sf.busy('k')).toBe(false);
    await sf.idle('k'); // nothing running: at once
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const first = sf.run('k', undefined, async () => {
      await gate;
      throw new Error('boom');
    });
    const second = sf.run('k', undefined, async () => done);
    expect(sf.busy('k')).toBe(true);
    expect(sf.busy('other')).toBe(false);
    let idle = false;
    const waiting = sf.idle('k').then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    finish();
    await expect(first).rejects.toThrow('boom');
    await second;
    await waiting;
    expect(idle).toBe(true);
    expect(sf.busy('k')).toBe(false);
  });
});
