import { describe, expect, it } from 'vitest';
import { readConfig } from './config.ts';

describe('readConfig: /events limits', () => {
  it('reads EVENTS_MAX_BYTES and EVENTS_MAX_BATCH, unset means the endpoint default', () => {
    expect(readConfig({})).toMatchObject({ eventsMaxBytes: undefined, eventsMaxBatch: undefined });
    expect(readConfig({ EVENTS_MAX_BYTES: '1048576', EVENTS_MAX_BATCH: '128' })).toMatchObject({
      eventsMaxBytes: 1048576,
      eventsMaxBatch: 128,
    });
  });

  it('refuses anything but a whole number of at least 1', () => {
    for (const v of ['0', '-1', '1e3', '0x10', '5.0', 'lots']) {
      expect(() => readConfig({ EVENTS_MAX_BATCH: v })).toThrow(/EVENTS_MAX_BATCH/);
    }
  });
});
