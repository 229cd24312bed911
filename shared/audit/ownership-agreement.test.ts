// The audit and the sweep share one judgement (shared/domain/ownership.ts): over any snapshot, the
// audit's leaked reservations are exactly those the judgement calls gone or misplaced, so what the
// sweep frees (gone only) is always something the audit reports, and owners the judgement leaves
// alone (manual, kube-ovn IP holds, health checks) are never reported.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  healthCheckOwner,
  ipOwner,
  judgeReservation,
  liveOwners,
  manualOwner,
  placementsOf,
  podOwner,
  vipOwner,
} from '../domain/ownership.ts';
import type { Pod, SubnetResource, Vip } from '../domain/types.ts';
import type { Reservation } from '../ipam/index.ts';
import { compareState } from './compare.ts';
import { DriftKind, type ObservedState } from './types.ts';

const SUBNET = 'ovn-default';
const OTHER = 'far';
const subnets: SubnetResource[] = [
  { metadata: { name: SUBNET }, spec: { cidrBlock: '10.16.0.0/16', default: true } },
  { metadata: { name: OTHER }, spec: { cidrBlock: '10.17.0.0/16', namespaces: ['far'] } },
];
const VIPS = ['a', 'b', 'c'];
const PODS = ['p', 'q'];
const OWNERS = [
  ...VIPS.map(vipOwner),
  ...PODS.map((p) => podOwner(`${p}.default`)),
  podOwner('r.far'),
  manualOwner('m'),
  ipOwner('i'),
  healthCheckOwner(SUBNET),
];

const vipState = fc.constantFrom('absent', 'here', 'elsewhere', 'deleting');
const vipOf = (name: string, where: string, deleting: boolean): Vip => ({
  metadata: {
    name,
    labels: { 'ovn.kubernetes.io/subnet': where },
    ...(deleting ? { deletionTimestamp: '2026-12-04T00:00:00Z' } : {}),
  },
  spec: { subnet: where },
});

describe('the audit reports exactly what the ownership judgement does not call owned', () => {
  it('over random snapshots', () => {
    fc.assert(
      fc.property(
        fc.array(vipState, { minLength: VIPS.length, maxLength: VIPS.length }),
        fc.array(fc.boolean(), { minLength: PODS.length + 1, maxLength: PODS.length + 1 }),
        fc.subarray(OWNERS),
        (vipStates, podsExist, held) => {
          const vips = VIPS.flatMap((name, i) => {
            const s = vipStates[i];
            if (s === 'absent') return [];
            return [vipOf(name, s === 'elsewhere' ? OTHER : SUBNET, s === 'deleting')];
          });
          const pods: Pod[] = [
            ...PODS.filter((_, i) => podsExist[i]).map((name) => ({
              metadata: { name, namespace: 'default' },
            })),
            ...(podsExist[PODS.length] ? [{ metadata: { name: 'r', namespace: 'far' } }] : []),
          ];
          const reservations: Reservation[] = held.map((owner, i) => ({
            subnet: SUBNET,
            owner,
            v4: `10.16.0.${10 + i}`,
            mac: `00:00:00:00:00:${(10 + i).toString(16).padStart(2, '0').toUpperCase()}`,
          }));
          const state: ObservedState = {
            vips,
            pods,
            subnets,
            rules: [],
            reservations: { [SUBNET]: reservations },
            ports: [],
            loadBalancers: [],
            allocatorViolations: {},
          };
          const leaked = compareState(state)
            .filter((d) => d.kind === DriftKind.LeakedReservation)
            .map((d) => (d.action.type === 'release' ? d.action.owner : ''))
            .sort();
          const live = liveOwners(vips, pods, placementsOf(subnets), true);
          const verdicts = new Map(held.map((o) => [o, judgeReservation(SUBNET, o, live).verdict]));
          const judged = held.filter((o) => ['gone', 'misplaced'].includes(verdicts.get(o)!)).sort();
          expect(leaked).toEqual(judged);
          for (const o of held.filter((x) => verdicts.get(x) === 'gone')) expect(leaked).toContain(o);
          for (const o of [manualOwner('m'), ipOwner('i'), healthCheckOwner(SUBNET)])
            expect(leaked).not.toContain(o);
        },
      ),
      { numRuns: 300 },
    );
  });
});
