import { describe, expect, it } from 'vitest';
import { crossSubnetDuplicateMacs, duplicateMacs, snapshotOfDump } from './audit.ts';

const b = (s: string) => new TextEncoder().encode(s);

describe('snapshotOfDump', () => {
  it('is undefined for a subnet that does not exist', () => {
    expect(snapshotOfDump([null, [], [], [], []])).toBeUndefined();
  });

  it('reads records, position owners, counters, the index and the pages of each family', () => {
    const used = Uint8Array.of(0xc0);
    const dump = snapshotOfDump([
      b('7'),
      [
        'gen',
        '7',
        'o:vip/a',
        '0:2|0:5|00:00:00:00:00:01',
        '4@0:2',
        'vip/a',
        '6@0:5',
        'vip/a',
        '4:n',
        '1',
        '4:ox',
        '0',
      ].map(b),
      [b('vip/a')],
      [b('0'), used, used, Uint8Array.of(0x80)],
      [],
    ]);
    expect(dump?.gen).toBe('7');
    const snap = dump!.snapshot;
    expect([...snap.records]).toEqual([['vip/a', '0:2|0:5|00:00:00:00:00:01']]);
    expect([...snap.indexed]).toEqual(['vip/a']);
    const v4 = snap.families.get(4)!;
    expect([v4.ownedCount, v4.ownedExcluded, [...v4.a2o]]).toEqual([1, 0, [['0:2', 'vip/a']]]);
    expect(v4.pages.get('0')).toEqual({ used, ever: used, excluded: Uint8Array.of(0x80) });
    const v6 = snap.families.get(6)!;
    expect([v6.ownedCount, [...v6.a2o], v6.pages.size]).toEqual([0, [['0:5', 'vip/a']], 0]);
  });
});

describe('duplicate MACs', () => {
  it('within a set of holders: one violation per MAC more than one holds (empty MACs skipped)', () => {
    expect(
      duplicateMacs([
        ['vip/c', '00:00:00:00:00:01'],
        ['vip/b', '00:00:00:00:00:02'],
        ['vip/a', '00:00:00:00:00:01'],
        ['vip/d', ''],
        ['vip/e', ''],
      ]),
    ).toEqual([{ kind: 'mac', message: 'MAC 00:00:00:00:00:01 is held by vip/a, vip/c' }]);
    expect(duplicateMacs([['vip/a', '00:00:00:00:00:01']])).toEqual([]);
  });

  it('across subnets: reported under each subnet involved; a duplicate inside one subnet is left to its audit', () => {
    const r = (owner: string, mac: string) => ({ owner, mac });
    const found = crossSubnetDuplicateMacs({
      s2: [r('vip/x', '00:00:00:00:00:01'), r('vip/y', '00:00:00:00:00:03')],
      s1: [r('vip/a', '00:00:00:00:00:01'), r('vip/b', '00:00:00:00:00:02'), r('vip/c', '00:00:00:00:00:02')],
      s3: [r('vip/z', '00:00:00:00:00:04'), r('vip/n', '')],
      s4: [r('vip/n', '')],
    });
    const message = 'MAC 00:00:00:00:00:01 is held in more than one subnet: by s1/vip/a, s2/vip/x';
    expect(found).toEqual({ s1: [{ kind: 'mac', message }], s2: [{ kind: 'mac', message }] });
    expect(crossSubnetDuplicateMacs({ s1: [r('vip/a', '00:00:00:00:00:01')], s2: [] })).toEqual({});
  });
});
