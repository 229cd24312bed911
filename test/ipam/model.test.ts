// Property: random sequences of allocate / fixed / release on a real Redis agree with a plain
// in-memory model of SPEC §2 (lowest free, released last, excludes, gateway, dual stack, idempotency).
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';
import { connect, uniqueName } from './helpers.ts';

type Fam = 'v4' | 'v6';
interface FamModel {
  size: number; // addresses 0..size-1 of the block, as host numbers
  usable: (h: number) => boolean;
  gateway: number;
  excluded: Set<number>;
  used: Map<number, string>;
  ever: Set<number>;
  text: (h: number) => string;
}

class Model {
  readonly fams: Record<Fam, FamModel>;
  readonly records = new Map<string, { v4: number; v6: number }>();
  constructor() {
    const mk = (size: number, gateway: number, excl: number[], text: (h: number) => string): FamModel => ({
      size,
      usable: (h) => h >= 1 && h <= size - 2,
      gateway,
      excluded: new Set(excl),
      used: new Map(),
      ever: new Set([0, gateway, ...excl]),
      text,
    });
    this.fams = {
      v4: mk(16, 1, [5, 6], (h) => `10.20.0.${h}`),
      v6: mk(16, 1, [3], (h) => `fd00:20::${h.toString(16)}`),
    };
  }
  private lowest(f: FamModel): number | undefined {
    const free = (h: number) => f.usable(h) && !f.used.has(h) && h !== f.gateway && !f.excluded.has(h);
    for (let h = 0; h < f.size; h++) if (free(h) && !f.ever.has(h)) return h;
    for (let h = 0; h < f.size; h++) if (free(h)) return h;
    return undefined;
  }
  allocate(owner: string, fixed?: { fam: Fam; host: number }): string {
    // an unusable address is refused before anything is looked up
    if (fixed && !this.fams[fixed.fam].usable(fixed.host)) return 'AddressOutOfRange';
    const rec = this.records.get(owner);
    if (rec) {
      if (fixed && rec[fixed.fam] !== fixed.host) return 'ImmutableField';
      return `${this.fams.v4.text(rec.v4)} ${this.fams.v6.text(rec.v6)}`;
    }
    const pick: Partial<Record<Fam, number>> = {};
    for (const fam of ['v4', 'v6'] as const) {
      const f = this.fams[fam];
      if (fixed?.fam === fam) {
        if (!f.usable(fixed.host)) return 'AddressOutOfRange';
        if (fixed.host === f.gateway || f.used.has(fixed.host)) return 'AddressConflict';
        pick[fam] = fixed.host;
      } else {
        const h = this.lowest(f);
        if (h === undefined) return 'SubnetFull';
        pick[fam] = h;
      }
    }
    for (const fam of ['v4', 'v6'] as const) {
      const h = pick[fam] as number;
      this.fams[fam].used.set(h, owner);
      this.fams[fam].ever.add(h);
    }
    this.records.set(owner, { v4: pick.v4 as number, v6: pick.v6 as number });
    return `${this.fams.v4.text(pick.v4 as number)} ${this.fams.v6.text(pick.v6 as number)}`;
  }
  release(owner: string): boolean {
    const rec = this.records.get(owner);
    if (!rec) return false;
    this.fams.v4.used.delete(rec.v4);
    this.fams.v6.used.delete(rec.v6);
    this.records.delete(owner);
    return true;
  }
}

type Op =
  | { kind: 'alloc'; owner: string }
  | { kind: 'fixed'; owner: string; fam: Fam; host: number }
  | { kind: 'release'; owner: string };

const owner = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: owner.map((o) => ({ kind: 'alloc' as const, owner: o })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ owner, fam: fc.constantFrom<Fam>('v4', 'v6'), host: fc.integer({ min: 0, max: 15 }) })
      .map((r) => ({ kind: 'fixed' as const, ...r })),
  },
  { weight: 3, arbitrary: owner.map((o) => ({ kind: 'release' as const, owner: o })) },
);

let redis: Redis;
beforeAll(() => {
  redis = connect();
});
afterAll(() => redis.disconnect());

describe('allocator agrees with an in-memory model', () => {
  it.each([
    ['inline MAC', false],
    ['split MAC', true],
  ])('random allocate / fixed / release sequences (%s)', async (_m, splitMac) => {
    const ipam = createRedisAllocator(redis, { splitMac });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const name = uniqueName('model');
        await ipam.registerSubnet({
          name,
          cidrBlock: '10.20.0.0/28,fd00:20::/124',
          excludeIps: ['10.20.0.5..10.20.0.6', 'fd00:20::3'],
        });
        const model = new Model();
        try {
          for (const o of ops) {
            if (o.kind === 'release') {
              expect(await ipam.release(name, o.owner)).toBe(model.release(o.owner));
              continue;
            }
            const fixed = o.kind === 'fixed' ? { fam: o.fam, host: o.host } : undefined;
            const want = model.allocate(o.owner, fixed);
            const text = fixed ? model.fams[fixed.fam].text(fixed.host) : undefined;
            const got = await ipam
              .allocate({ subnet: name, owner: o.owner, ...(fixed ? { [fixed.fam]: text } : {}) })
              .then(
                (r) => `${r.v4} ${r.v6}`,
                (e: unknown) => (e instanceof DomainError ? e.reason : String(e)),
              );
            expect(got).toBe(want);
          }
          expect(await ipam.audit(name)).toEqual([]);
          const c = await ipam.counts(name);
          const owned = model.records.size;
          const inExcl4 = [...model.fams.v4.used.keys()].filter((h) => model.fams.v4.excluded.has(h)).length;
          const inExcl6 = [...model.fams.v6.used.keys()].filter((h) => model.fams.v6.excluded.has(h)).length;
          expect(c.v4UsingIPs).toBe(owned);
          expect(c.v4AvailableIPs).toBe(14 - 3 - (owned - inExcl4));
          expect(c.v6AvailableIPs).toBe(14 - 2 - (owned - inExcl6));
        } finally {
          await ipam.deleteSubnet(name, { force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
