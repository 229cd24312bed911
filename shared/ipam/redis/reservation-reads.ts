// The read side of the Redis allocator: one reservation, a page of them (cursor: the last owner,
// base64url), a subnet's counts as the Subnet status shows them, and the audit of a subnet (its
// snapshot judged by ../audit.ts, then the MAC registry checked against the records). Records hold
// positions; they become addresses with the spec of the generation the script read them at.
import { Buffer } from 'node:buffer';
import { DomainError, Reason } from '../../domain/errors.ts';
import type { ListOptions, Reservation, ReservationPage, SubnetCounts, Violation } from '../allocator.ts';
import { auditSnapshot, type SubnetDump, snapshotOfDump } from '../audit.ts';
import { dynamicMacBit } from '../mac.ts';
import {
  type BitmapPage,
  bitAtOf,
  ownedExcludedProbe,
  usageFromBitmaps,
  usageFromPositions,
} from '../owned-runs.ts';
import type { FamilyRange } from '../subnet-range.ts';
import { type AllocatorContext, MAX_RETRIES, requireSubnet } from './allocator-context.ts';
import { notFound } from './allocator-errors.ts';
import { MAC_MAP, MAC_USED, stateKey, subnetKeys } from './keys.ts';
import { fromRecord, macOfRecord } from './reservation-codec.ts';

export async function get(
  ctx: AllocatorContext,
  subnet: string,
  owner: string,
): Promise<Reservation | undefined> {
  const s = await requireSubnet(ctx, subnet);
  const [gen, rec] = (await ctx.cmd.get(...subnetKeys(subnet), owner)) as [string | null, string | null];
  if (gen === null) {
    ctx.cache.delete(subnet);
    throw notFound(subnet);
  }
  const range = gen === s.gen ? s.range : (await requireSubnet(ctx, subnet, true)).range;
  if (!rec) return undefined;
  return fromRecord(range, owner, rec);
}

export async function list(
  ctx: AllocatorContext,
  subnet: string,
  opts: ListOptions = {},
): Promise<ReservationPage> {
  let s = await requireSubnet(ctx, subnet);
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 100), 1), 1000);
  const after = opts.cursor ? decodeCursor(opts.cursor) : '';
  const reply = (await ctx.cmd.list(...subnetKeys(subnet), after, limit)) as (string | null)[];
  if (reply[0] === null) {
    ctx.cache.delete(subnet);
    throw notFound(subnet);
  }
  // records hold positions; turn them into addresses with the spec of the same generation
  if (reply[0] !== s.gen) s = await requireSubnet(ctx, subnet, true);
  const items: Reservation[] = [];
  for (let i = 1; i + 1 < reply.length && items.length < limit; i += 2) {
    items.push(fromRecord(s.range, String(reply[i]), String(reply[i + 1])));
  }
  const more = (reply.length - 1) / 2 > limit;
  const last = items[items.length - 1];
  return more && last ? { items, nextCursor: encodeCursor(last.owner) } : { items };
}

type FamilyReply = [pages: Buffer[], owned: Buffer[]];

/** One family's counts: addresses left, addresses held, and kube-ovn's range text of them. */
export interface FamilyCounts {
  available: bigint;
  using: number;
  range: string;
}

/** The Subnet status counts of both families (a family the subnet lacks: 0, 0, ''). */
export function subnetCountsOf(c4: FamilyCounts, c6: FamilyCounts): SubnetCounts {
  return {
    v4AvailableIPs: Number(c4.available),
    v4UsingIPs: c4.using,
    v4UsingIPRange: c4.range,
    v6AvailableIPs: Number(c6.available),
    v6UsingIPs: c6.using,
    v6UsingIPRange: c6.range,
    v4AvailableIPsExact: c4.available.toString(),
    v6AvailableIPsExact: c6.available.toString(),
  };
}

export async function counts(ctx: AllocatorContext, subnet: string): Promise<SubnetCounts> {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const s = await requireSubnet(ctx, subnet, attempt > 0);
    // binary-safe reply: the bitmap pages come back as Buffers
    const r = (await ctx.cmd.counts(
      ...subnetKeys(subnet),
      ownedExcludedProbe(s.range.v4),
      ownedExcludedProbe(s.range.v6),
    )) as [Buffer | null, Buffer, Buffer, FamilyReply, FamilyReply];
    if (r[0] === null) {
      ctx.cache.delete(subnet);
      throw notFound(subnet);
    }
    if (r[0].toString() !== s.gen) continue;
    const fam = (fr: FamilyRange | undefined, oxText: Buffer, [flat, owned]: FamilyReply) => {
      if (!fr) return { available: 0n, using: 0, range: '' };
      const ox = BigInt(oxText.toString());
      const positions = owned.map(String);
      let usage: { using: number; range: string };
      if (ox > 0n && ownedExcludedProbe(fr) === '*') {
        // many excluded addresses, some owned: the script listed every owned position
        usage = usageFromPositions(fr, positions);
      } else {
        const pages: BitmapPage[] = [];
        for (let i = 0; i + 2 < flat.length; i += 3) {
          pages.push({
            page: Number(String(flat[i])),
            used: flat[i + 1] as Buffer,
            excluded: flat[i + 2] as Buffer,
          });
        }
        usage = usageFromBitmaps(fr, pages, positions.map(bitAtOf));
      }
      const available = fr.usableCount - fr.excludedCount - (BigInt(usage.using) - ox);
      return { available, using: usage.using, range: usage.range };
    };
    return subnetCountsOf(fam(s.range.v4, r[1], r[3]), fam(s.range.v6, r[2], r[4]));
  }
  throw new DomainError(Reason.SubnetNotReady, `subnet ${subnet} is being changed; try again`);
}

export async function audit(ctx: AllocatorContext, subnet: string): Promise<Violation[]> {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const s = await requireSubnet(ctx, subnet, attempt > 0);
    const dump = snapshotOfDump((await ctx.cmd.dump(...subnetKeys(subnet))) as SubnetDump);
    if (!dump) throw notFound(subnet);
    if (dump.gen !== s.gen) continue;
    const { records } = dump.snapshot;
    const violations = auditSnapshot(s.range, dump.snapshot);
    // MACs live in another slot: checked by a second read (not atomic with the snapshot)
    const holders = [...records.keys()].map((o) => `${subnet}/${o}`);
    if (holders.length > 0) {
      const recMacs = holders.map((h) => macOfRecord(records.get(h.slice(subnet.length + 1))));
      const macs = await ctx.redis.hmget(MAC_MAP, ...holders.map((h) => `h:${h}`));
      const [v3, ...back] = await ctx.redis.hmget(MAC_MAP, '#m', ...recMacs.map((m) => `m:${m}`));
      // layout v3: a MAC taken from the dynamic space has no m:<MAC>; its bit must be set instead
      const unregistered = recMacs.flatMap((m, i) =>
        back[i] === null && dynamicMacBit(m) !== undefined ? [i] : [],
      );
      const bitSet = new Map<number, boolean>();
      if (v3 === '1' && unregistered.length > 0) {
        const pipe = ctx.redis.pipeline();
        for (const i of unregistered) pipe.getbit(MAC_USED, dynamicMacBit(recMacs[i] ?? '') ?? 0);
        const bits = (await pipe.exec()) ?? [];
        unregistered.forEach((i, j) => {
          const [err, bit] = bits[j] ?? [];
          if (err) throw err;
          bitSet.set(i, bit === 1);
        });
      }
      holders.forEach((h, i) => {
        const mac = recMacs[i];
        // on one Redis the record alone carries the MAC (no h:<holder>); m:<MAC> names the holder,
        // or (v3) there is none and the MAC's bit is set
        const hMismatch = macs[i] !== mac && macs[i] !== null;
        if (!hMismatch && (back[i] === h || bitSet.get(i) === true)) return;
        violations.push({
          kind: 'mac',
          message:
            bitSet.get(i) === false && !hMismatch
              ? `${h} records MAC ${mac}, which is neither registered nor marked in use (its bit is clear)`
              : `${h} records MAC ${mac} but the MAC registry says ${macs[i] ?? 'none'} (held by ${back[i] ?? 'nobody'})`,
        });
      });
    }
    // MACs held for an owner of this subnet that holds no address (a crash between the two
    // scripts on Cluster): the owner's retry takes that MAC, a release frees it. And m:<MAC>
    // entries naming an owner of this subnet whose record does not hold that MAC, with no
    // h:<holder> (on one Redis the record is the holder's only other copy): a release by an
    // older version, which looks for h:<holder>, leaves them. One scan of the registry (a MATCH
    // scans it all too).
    const hPrefix = `h:${subnet}/`;
    const mHolder = `${subnet}/`;
    const hHeld = new Set<string>();
    const mHeld: [mac: string, owner: string][] = [];
    let cursor = '0';
    do {
      const [next, flat] = await ctx.redis.hscan(MAC_MAP, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const k = flat[i] as string;
        const v = flat[i + 1] as string;
        if (k.startsWith(hPrefix)) {
          const owner = k.slice(hPrefix.length);
          hHeld.add(owner);
          if (!records.has(owner)) {
            violations.push({
              kind: 'mac',
              message: `MAC ${v} is held for ${subnet}/${owner}, which holds no address (orphan)`,
            });
          }
        } else if (k.startsWith('m:') && v.startsWith(mHolder)) {
          const owner = v.slice(mHolder.length);
          if (macOfRecord(records.get(owner)) !== k.slice(2)) mHeld.push([k.slice(2), owner]);
        }
      }
      cursor = next;
    } while (cursor !== '0');
    const suspects = mHeld.filter(([, owner]) => !hHeld.has(owner));
    if (suspects.length > 0) {
      // read again: an owner allocated since the snapshot holds its MAC in its record by now
      const now = await ctx.redis.hmget(stateKey(subnet), ...suspects.map(([, o]) => `o:${o}`));
      suspects.forEach(([mac, owner], i) => {
        if (macOfRecord(now[i]) === mac) return;
        violations.push({
          kind: 'mac',
          message: `MAC ${mac} is registered to ${subnet}/${owner}, which does not hold it (orphan)`,
        });
      });
    }
    return violations;
  }
  throw new DomainError(Reason.SubnetNotReady, `subnet ${subnet} is being changed; try again`);
}

const encodeCursor = (owner: string) => Buffer.from(owner, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
