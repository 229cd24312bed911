import { describe, expect, it } from 'vitest';
import { persistentDrift } from './settle.ts';
import { type Drift, DriftKind } from './types.ts';

const d = (object: string, detail = 'x'): Drift => ({
  kind: DriftKind.OrphanPort,
  object,
  detail,
  repair: '',
  action: { type: 'delete-port', name: object },
});

describe('persistentDrift', () => {
  it('keeps what every round saw, in the last round order', () => {
    expect(
      persistentDrift([
        [d('a'), d('b'), d('c')],
        [d('c'), d('a')],
        [d('c'), d('a'), d('z')],
      ]),
    ).toEqual([d('c'), d('a')]);
  });

  it('a changed detail is a different drift (work in flight moved on)', () => {
    expect(persistentDrift([[d('a', 'one')], [d('a', 'two')]])).toEqual([]);
  });

  it('one round is taken as is; no rounds give nothing', () => {
    expect(persistentDrift([[d('a')]])).toEqual([d('a')]);
    expect(persistentDrift([])).toEqual([]);
  });
});
