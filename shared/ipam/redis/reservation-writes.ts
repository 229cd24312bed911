// Reservations changed in the Redis allocator: allocate (micro-batched: allocations of one subnet
// and spec generation that arrive in the same tick go to Redis as one allocate script call, see
// ./batcher.ts; the script decides each on its own), release and replace.
//
// Both-or-neither for address + MAC: on a single Redis the allocate script also reserves the MAC
// (one script, one round trip). On Redis Cluster the MAC keys live in another slot, so allocate
// runs the MAC script first (idempotent by holder "<subnet>/<owner>"), then the address script,
// and releases the MAC again if the address script refuses. A crash between the two leaves the
// MAC held by that holder; the owner's retry gets the same MAC, and audit() reports it meanwhile.
import { DomainError, Reason } from '../../domain/errors.ts';
import type { Family } from '../../domain/ip-codec.ts';
import type { AllocateRequest, Allocation, ReplaceRequest, Reservation } from '../allocator.ts';
import { canonicalMac } from '../mac.ts';
import { type AllocatorContext, MAX_RETRIES, type Reply, requireSubnet } from './allocator-context.ts';
import { notFound, scriptError } from './allocator-errors.ts';
import type { Batcher } from './batcher.ts';
import { MAC_KEYS, subnetKeys } from './keys.ts';
import { checkOwner, fixedPosition } from './request-checks.ts';
import { allocationOf, fromRecord, macOfRecord, splitFields } from './reservation-codec.ts';

/** The allocate side's share of the allocator: the batcher, and who hears of each batch's size. */
export interface WriteContext extends AllocatorContext {
  readonly batcher: Batcher<BatchRequest, string> | undefined;
  readonly onBatch: ((size: number) => void) | undefined;
}

/** One allocation as the batch script takes it. A batch holds requests of one subnet and generation. */
export interface BatchRequest {
  readonly subnet: string;
  /** The subnet's spec generation the positions were computed against. */
  readonly gen: string;
  readonly owner: string;
  /** Fixed positions, '' for a dynamic address. */
  readonly v4: string;
  readonly v6: string;
  /** The fixed MAC or '' (one Redis), or the MAC already reserved for this owner (Cluster). */
  readonly mac: string;
}

/** Lua's unpack() of a batch's writes must stay under its stack limit (8000 values). */
export const MAX_BATCH = 500;

/** One allocate script call for requests of one subnet; one reply string per request
 *  ('STALE'/'NOSUBNET' for all when the batch was not run). */
export async function sendBatch(ctx: WriteContext, reqs: readonly BatchRequest[]): Promise<string[]> {
  const { subnet, gen } = reqs[0]!;
  ctx.onBatch?.(reqs.length);
  // the common request (dynamic, no MAC) travels as one argument
  let shape = '';
  const args: string[] = [];
  for (const r of reqs) {
    if (r.v4 === '' && r.v6 === '' && r.mac === '') {
      shape += 'o';
      args.push(r.owner);
    } else {
      shape += 'f';
      args.push(r.owner, r.v4, r.v6, r.mac);
    }
  }
  const reply = (
    ctx.splitMac
      ? await ctx.cmd.allocate(...subnetKeys(subnet), gen, shape, ...args)
      : await ctx.cmd.allocateWithMac(...subnetKeys(subnet), ...MAC_KEYS, gen, shape, ...args)
  ) as string[];
  if (reply[0] !== 'OK') return reqs.map(() => String(reply[0]));
  return reply.slice(1);
}

export async function allocate(ctx: WriteContext, req: AllocateRequest): Promise<Allocation> {
  checkOwner(req.owner);
  const fixedMac = req.mac !== undefined && req.mac !== '' ? canonicalMac(req.mac) : '';
  let macCreated = false;
  let reservedMac = '';
  try {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const s =
        (attempt === 0 && ctx.cache.get(req.subnet)) || (await requireSubnet(ctx, req.subnet, attempt > 0));
      const v4 = fixedPosition(s.range, 4, req.v4);
      const v6 = fixedPosition(s.range, 6, req.v6);
      if (ctx.splitMac && !reservedMac) {
        const m = (await ctx.cmd.macReserve(...MAC_KEYS, `${req.subnet}/${req.owner}`, fixedMac)) as Reply;
        if (m[0] === 'ERR') {
          // a MAC taken dynamically (layout v3, no m:<MAC>) may be this owner's own, allocated on one
          // Redis before the data moved: its record says so, and the repeat goes on with it
          const own =
            m[1] === 'MACConflict' && !m[3] ? await recordMac(ctx, req.subnet, req.owner) : undefined;
          if (own !== fixedMac) throw scriptError(s.range, req, m as string[]);
          reservedMac = fixedMac;
        } else {
          macCreated = m[1] === 1;
          reservedMac = String(m[2]);
        }
      }
      const one: BatchRequest = {
        subnet: req.subnet,
        gen: s.gen,
        owner: req.owner,
        v4,
        v6,
        mac: ctx.splitMac ? reservedMac : fixedMac,
      };
      const reply = ctx.batcher
        ? await ctx.batcher.submit(`${s.gen}\n${req.subnet}`, one)
        : ((await sendBatch(ctx, [one]))[0] as string);
      if (reply === 'STALE' || reply === 'NOSUBNET') {
        ctx.cache.delete(req.subnet);
        continue;
      }
      if (reply[0] === 'E') throw scriptError(s.range, req, ['ERR', ...splitFields(reply.slice(1), 3)]);
      const got = allocationOf(s.range, req.owner, reply);
      // kept, unless the owner already held another MAC: its record carries it and the registry
      // knows it by m:<MAC> only (allocated on one Redis), so the one reserved now goes back
      if (got.created || got.mac === reservedMac) macCreated = false;
      return got;
    }
    throw new DomainError(Reason.SubnetNotReady, `subnet ${req.subnet} is being changed; try again`);
  } finally {
    if (macCreated) await ctx.cmd.macRelease(...MAC_KEYS, `${req.subnet}/${req.owner}`);
  }
}

/** The MAC an owner's record carries (undefined: no record). */
async function recordMac(ctx: AllocatorContext, subnet: string, owner: string): Promise<string | undefined> {
  const [, rec] = (await ctx.cmd.get(...subnetKeys(subnet), owner)) as [unknown, string | null];
  return rec === null ? undefined : macOfRecord(rec);
}

export async function release(ctx: AllocatorContext, subnet: string, owner: string): Promise<boolean> {
  checkOwner(owner);
  return (await releaseOne(ctx, subnet, owner, '')) === 'released';
}

/** false when the guard refused (the subnet is Kubernetes'); otherwise whether anything was held. */
export async function releaseOne(
  ctx: AllocatorContext,
  subnet: string,
  owner: string,
  guard: '' | 'unmanaged',
): Promise<'released' | 'none' | false> {
  const holder = `${subnet}/${owner}`;
  if (ctx.splitMac) {
    const r = (await ctx.cmd.release(...subnetKeys(subnet), owner, holder, guard)) as Reply;
    if (r[0] === -1) return false;
    // r[1]: the record's MAC, for a holder the registry knows by m:<MAC> only (allocated on one Redis)
    const mac = await ctx.cmd.macRelease(...MAC_KEYS, holder, String(r[1] ?? ''));
    return r[0] === 1 || mac ? 'released' : 'none';
  }
  const r = (await ctx.cmd.releaseWithMac(...subnetKeys(subnet), ...MAC_KEYS, owner, holder, guard)) as Reply;
  if (r[0] === -1) return false;
  return r[0] === 1 || r[1] ? 'released' : 'none';
}

export async function replace(ctx: AllocatorContext, req: ReplaceRequest): Promise<Reservation> {
  checkOwner(req.owner);
  const holder = `${req.subnet}/${req.owner}`;
  const mac = req.mac !== undefined && req.mac !== '' ? canonicalMac(req.mac) : '';
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const s = await requireSubnet(ctx, req.subnet, attempt > 0);
    const plan = (f: Family, fixed: string | undefined) =>
      req.move?.includes(f) ? '*' : fixedPosition(s.range, f, fixed);
    const v4 = plan(4, req.v4);
    const v6 = plan(6, req.v6);
    // Cluster: the MAC lives in another slot, so it moves first (and back if the addresses are
    // refused). A crash in between leaves the owner its addresses; audit() shows the MAC mismatch.
    let previousMac: string | undefined;
    if (ctx.splitMac && mac) {
      // the held MAC from the record too: the registry may know the holder by m:<MAC> only
      const held = (await recordMac(ctx, req.subnet, req.owner)) ?? '';
      const m = (await ctx.cmd.macSwap(...MAC_KEYS, holder, mac, held)) as string[];
      if (m[0] === 'ERR') throw scriptError(s.range, req, m);
      previousMac = m[1] !== mac ? m[1] : undefined;
    }
    const reply = (
      ctx.splitMac
        ? await ctx.cmd.replace(...subnetKeys(req.subnet), s.gen, req.owner, holder, v4, v6, mac)
        : await ctx.cmd.replaceWithMac(
            ...subnetKeys(req.subnet),
            ...MAC_KEYS,
            s.gen,
            req.owner,
            holder,
            v4,
            v6,
            mac,
          )
    ) as string[];
    if (reply[0] !== 'OK' && previousMac) await ctx.cmd.macSwap(...MAC_KEYS, holder, previousMac);
    if (reply[0] === 'STALE' || reply[0] === 'NOSUBNET') {
      ctx.cache.delete(req.subnet);
      if (reply[0] === 'NOSUBNET') throw notFound(req.subnet);
      continue;
    }
    if (reply[0] === 'ERR') throw scriptError(s.range, req, reply);
    return fromRecord(s.range, req.owner, String(reply[1]));
  }
  throw new DomainError(Reason.SubnetNotReady, `subnet ${req.subnet} is being changed; try again`);
}
