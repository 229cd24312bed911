import { describe, expect, it } from 'vitest';
import { driftTable, repairLine, summaryLine } from './format.ts';
import { type Drift, DriftKind } from './types.ts';

const drift = (kind: Drift['kind'], object: string, detail: string): Drift => ({
  kind,
  object,
  detail,
  repair: 'do it',
  action: { type: 'manual' },
});
const counts = { vips: 1, pods: 2, reservations: 3, ports: 4, loadBalancers: 0 };

describe('audit output', () => {
  it('aligns columns to the widest cell under the header', () => {
    const t = driftTable([
      drift(DriftKind.OrphanPort, 'Port/x', 'short'),
      drift(DriftKind.LeakedReservation, 'Reservation/ovn-default/vip/g', 'longer detail'),
    ]).split('\n');
    expect(t[0]).toBe('KIND                OBJECT                         DETAIL         REPAIR');
    expect(t[1]).toBe('orphan-port         Port/x                         short          do it');
    expect(t[2]!.indexOf('longer')).toBe(t[0]!.indexOf('DETAIL'));
  });

  it('cuts long details when asked', () => {
    const t = driftTable([drift(DriftKind.OrphanPort, 'Port/x', 'y'.repeat(50))], { maxDetail: 10 });
    expect(t.split('\n')[1]).toContain(`${'y'.repeat(9)}…`);
  });

  it('summaries count by kind and use singulars', () => {
    expect(summaryLine([], counts)).toBe(
      'no drift in 1 Vip, 2 pods, 3 reservations, 4 NB ports, 0 NB load balancers',
    );
    const d = [
      drift(DriftKind.OrphanPort, 'a', ''),
      drift(DriftKind.OrphanPort, 'b', ''),
      drift(DriftKind.MissingPort, 'c', ''),
    ];
    expect(summaryLine(d, counts)).toMatch(/^3 drifts \(2 orphan-port, 1 missing-port\) in 1 Vip,/);
    expect(summaryLine(d.slice(0, 1), counts)).toMatch(/^1 drift \(1 orphan-port\)/);
    expect(repairLine({ repaired: 2, skipped: [], failed: [] })).toBe(
      'repair: 2 repaired, 0 skipped, 0 failed',
    );
  });
});
