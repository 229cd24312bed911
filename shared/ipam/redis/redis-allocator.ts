// The Allocator over Redis. Validation and address arithmetic happen here (pure helpers); every
// decision is one Lua script. The process keeps only a cache of parsed subnet specs, validated by
// the spec generation each script checks (a stale cache gets {'STALE'} and is reloaded).
// Micro-batching: allocations of one subnet (and spec generation) that arrive in the same tick go
// to Redis as one allocate script call (./batcher.ts); the script decides each on its own.
//
// Both-or-neither for address + MAC: on a single Redis the allocate script also reserves the MAC
// (one script, one round trip). On Redis Cluster the MAC keys live in another slot, so allocate
// runs the MAC script first (idempotent by holder "<subnet>/<owner>"), then the address script,
// and releases the MAC again if the address script refuses. A crash between the two leaves the
// MAC held by that holder; the owner's retry gets the same MAC, and audit() reports it meanwhile.
import { Buffer } from 'node:buffer';
import type { Cluster, Redis } from 'ioredis';
import { DomainError, Reason } from '../../domain/errors.ts';
import type { Family } from '../../domain/ip-codec.ts';
import type {
  AllocateRequest,
  Allocation,
  Allocator,
  DeleteSubnetOptions,
  ListOptions,
  RegisterOptions,
  ReplaceRequest,
  Reservation,
  ReservationPage,
  SubnetCounts,
  SubnetInfo,
  SubnetManager,
  Violation,
} from '../allocator.ts';
import { ConcurrentChangeError } from '../allocator.ts';
import { auditSnapshot, type SubnetDump, snapshotOfDump } from '../audit.ts';
import { canonicalMac } from '../mac.ts';
import { excludedRanges, pageBitsOf, pageShape, positionOf, valueAt } from '../positions.ts';
import {
  type FamilyRange,
  familyOf,
  formatUsingRange,
  type SubnetRange,
  type SubnetSpec,
  subnetRange,
} from '../subnet-range.ts';
import { managedByKubernetes, notFound, scriptError } from './allocator-errors.ts';
import { Batcher } from './batcher.ts';
import { type IpamCommands, loadCommands } from './commands.ts';
import { MAC_KEYS, MAC_MAP, stateKey, subnetKeys } from './keys.ts';
import { checkOwner, fixedPosition } from './request-checks.ts';
import { allocationOf, fromRecord, splitFields } from './reservation-codec.ts';

export interface RedisAllocatorOptions {
  /** Force the two-step MAC protocol even on a single Redis (tests use it). Default: Cluster only. */
  readonly splitMac?: boolean;
  /** Micro-batching: allocations of one subnet that arrive in the same tick go to Redis as one
   *  script call (each still decided on its own). Default true; false sends each alone. */
  readonly batching?: boolean;
  /** Allocations per script call at most when batching (default 64, at most 500). A bigger tick goes
   *  as several calls, one per event-loop turn. 64 rather than 32: with the allocate script's fast
   *  path, a call's fixed cost (EVALSHA, the socket write on both sides, a dozen redis.call()s) is
   *  a large share of it, and bench/ipam.bench.ts measured less CPU per allocation and a higher
   *  rate with 50 concurrent requests as one call than as 32 + 18. */
  readonly maxBatch?: number;
  /** Called with the size of every allocate script call (metrics, tests). */
  readonly onBatch?: (size: number) => void;
}

/** One allocation as the batch script takes it. A batch holds requests of one subnet and generation. */
interface BatchRequest {
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

interface CachedSubnet {
  readonly gen: string;
  readonly range: SubnetRange;
  readonly managedBy: SubnetManager;
}

type Reply = (string | number | null | Reply[])[];

const MAX_RETRIES = 3;
/** Lua's unpack() of a batch's writes must stay under its stack limit (8000 values). */
const MAX_BATCH = 500;

export function createRedisAllocator(redis: Redis | Cluster, opts: RedisAllocatorOptions = {}): Allocator {
  return new RedisAllocator(redis, opts);
}

class RedisAllocator implements Allocator {
  private readonly cmd: IpamCommands;
  private readonly cache = new Map<string, CachedSubnet>();
  private readonly splitMac: boolean;
  private readonly batcher: Batcher<BatchRequest, string> | undefined;
  private readonly onBatch: ((size: number) => void) | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    opts: RedisAllocatorOptions,
  ) {
    this.cmd = loadCommands(redis);
    this.splitMac = opts.splitMac ?? Boolean((redis as { isCluster?: boolean }).isCluster);
    this.onBatch = opts.onBatch;
    if (opts.batching ?? true) {
      this.batcher = new Batcher({
        maxBatch: Math.min(Math.max(1, opts.maxBatch ?? 64), MAX_BATCH),
        // The key only groups requests; every request of a batch carries the same subnet and gen.
        send: (_key, reqs) => this.sendBatch(reqs),
      });
    }
  }

  /** One allocate script call for requests of one subnet; one reply string per request
   *  ('STALE'/'NOSUBNET' for all when the batch was not run). */
  private async sendBatch(reqs: readonly BatchRequest[]): Promise<string[]> {
    const { subnet, gen } = reqs[0]!;
    this.onBatch?.(reqs.length);
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
      this.splitMac
        ? await this.cmd.allocate(...subnetKeys(subnet), gen, shape, ...args)
        : await this.cmd.allocateWithMac(...subnetKeys(subnet), ...MAC_KEYS, gen, shape, ...args)
    ) as string[];
    if (reply[0] !== 'OK') return reqs.map(() => String(reply[0]));
    return reply.slice(1);
  }

  async registerSubnet(spec: SubnetSpec, opts: RegisterOptions = {}): Promise<SubnetInfo> {
    const range = subnetRange(spec);
    const key = stateKey(range.name);
    const json = specJson(range);
    const manager: SubnetManager = opts.managedBy ?? 'manual';
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const oldJson = (await this.redis.hget(key, 'spec')) ?? '';
      const old = oldJson ? rangeFromJson(range.name, oldJson) : undefined;
      const args: (string | number)[] = [...subnetKeys(range.name), json, range.cidrBlock, oldJson, manager];
      for (const fr of range.families) {
        const shape = pageShape(fr);
        const oldFr = old && old.cidrBlock === range.cidrBlock ? familyOf(old, fr.family) : undefined;
        const bits = pageBitsOf(fr, excludedRanges(fr));
        const oldBits = oldFr ? pageBitsOf(oldFr, excludedRanges(oldFr)) : [];
        args.push(
          String(fr.family),
          shape.pages.toString(),
          shape.lastPageBits,
          positionOf(fr, fr.gateway),
          positionOf(fr, fr.firstUsable),
          fr.firstUsable > fr.cidr.network ? '1' : '0',
          bits.length,
          ...bits.flatMap((b) => [b.page.toString(), b.fromBit, b.toBit]),
          oldBits.length,
          ...oldBits.flatMap((b) => [b.page.toString(), b.fromBit, b.toBit]),
        );
      }
      const reply = (await this.cmd.register(...args)) as Reply;
      if (reply[0] === 'STALE') continue;
      if (reply[0] === 'ERR') {
        const [, reason, field, detail] = reply as string[];
        if (reason === 'ManagedByKubernetes') throw managedByKubernetes(range.name);
        if (reason === 'AddressConflict') {
          throw new DomainError(
            Reason.AddressConflict,
            `the new gateway of subnet ${range.name} is held by ${detail}; release it or pick another gateway`,
            { holder: String(detail), field: 'gateway' },
          );
        }
        throw new DomainError(
          Reason.SubnetInUse,
          `subnet ${range.name} holds ${detail} reservations, so its cidrBlock cannot change; release them first`,
          { field: String(field) },
        );
      }
      // The mark is never removed by a registration: what the script kept is kubernetes if either was.
      const managedBy: SubnetManager =
        manager === 'kubernetes' || (await this.redis.hget(key, 'mgr')) === 'kubernetes'
          ? 'kubernetes'
          : 'manual';
      this.cache.set(range.name, { gen: String(reply[1]), range, managedBy });
      return infoOf(range, managedBy);
    }
    throw new ConcurrentChangeError(`subnet ${range.name} kept changing while registering it; try again`);
  }

  async getSubnet(name: string, opts: { fresh?: boolean } = {}): Promise<SubnetInfo | undefined> {
    const s = await this.load(name, opts.fresh === true);
    return s ? infoOf(s.range, s.managedBy) : undefined;
  }

  async listSubnets(): Promise<string[]> {
    const cluster = (this.redis as { isCluster?: boolean }).isCluster
      ? (this.redis as Cluster).nodes('master')
      : [this.redis as Redis];
    const names = new Set<string>();
    for (const node of cluster) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', '{ipam:*}:state', 'COUNT', 1000);
        for (const k of keys) names.add(k.slice('{ipam:'.length, -'}:state'.length));
        cursor = next;
      } while (cursor !== '0');
    }
    return [...names].sort();
  }

  async deleteSubnet(name: string, opts: DeleteSubnetOptions = {}): Promise<boolean> {
    const manager: SubnetManager = opts.managedBy ?? 'manual';
    for (let attempt = 0; attempt < 100; attempt++) {
      const reply = (await this.cmd.deleteSubnet(...subnetKeys(name), manager)) as Reply;
      if (reply[0] === 'OK') {
        this.cache.delete(name);
        return reply[1] === 1;
      }
      if (reply[1] === 'ManagedByKubernetes') throw managedByKubernetes(name);
      if (!opts.force) {
        throw new DomainError(
          Reason.SubnetInUse,
          `subnet ${name} still has ${reply[3]} reservations; release them first or delete with force`,
          { reservations: String(reply[3]) },
        );
      }
      // forced: release every owner (each MAC too), then try again
      let cursor: string | undefined;
      do {
        const page = await this.list(name, { cursor, limit: 1000 });
        for (const r of page.items) {
          // A manual force-delete stops the moment the subnet is Kubernetes' (checked per release,
          // in the script, so a takeover half-way through cannot cost a Vip or pod its address).
          if (!(await this.releaseOne(name, r.owner, manager === 'kubernetes' ? '' : 'unmanaged')))
            throw managedByKubernetes(name);
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    throw new Error(`subnet ${name} kept getting new reservations while being deleted`);
  }

  async allocate(req: AllocateRequest): Promise<Allocation> {
    checkOwner(req.owner);
    const fixedMac = req.mac !== undefined && req.mac !== '' ? canonicalMac(req.mac) : '';
    let macCreated = false;
    let reservedMac = '';
    try {
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const s =
          (attempt === 0 && this.cache.get(req.subnet)) || (await this.require(req.subnet, attempt > 0));
        const v4 = fixedPosition(s.range, 4, req.v4);
        const v6 = fixedPosition(s.range, 6, req.v6);
        if (this.splitMac && !reservedMac) {
          const m = (await this.cmd.macReserve(...MAC_KEYS, `${req.subnet}/${req.owner}`, fixedMac)) as Reply;
          if (m[0] === 'ERR') throw scriptError(s.range, req, m as string[]);
          macCreated = m[1] === 1;
          reservedMac = String(m[2]);
        }
        const one: BatchRequest = {
          subnet: req.subnet,
          gen: s.gen,
          owner: req.owner,
          v4,
          v6,
          mac: this.splitMac ? reservedMac : fixedMac,
        };
        const reply = this.batcher
          ? await this.batcher.submit(`${s.gen}\n${req.subnet}`, one)
          : ((await this.sendBatch([one]))[0] as string);
        if (reply === 'STALE' || reply === 'NOSUBNET') {
          this.cache.delete(req.subnet);
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
      if (macCreated) await this.cmd.macRelease(...MAC_KEYS, `${req.subnet}/${req.owner}`);
    }
  }

  async get(subnet: string, owner: string): Promise<Reservation | undefined> {
    const s = await this.require(subnet);
    const [gen, rec] = (await this.cmd.get(...subnetKeys(subnet), owner)) as [string | null, string | null];
    if (gen === null) {
      this.cache.delete(subnet);
      throw notFound(subnet);
    }
    const range = gen === s.gen ? s.range : (await this.require(subnet, true)).range;
    if (!rec) return undefined;
    return fromRecord(range, owner, rec);
  }

  async list(subnet: string, opts: ListOptions = {}): Promise<ReservationPage> {
    let s = await this.require(subnet);
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 100), 1), 1000);
    const after = opts.cursor ? decodeCursor(opts.cursor) : '';
    const reply = (await this.cmd.list(...subnetKeys(subnet), after, limit)) as (string | null)[];
    if (reply[0] === null) {
      this.cache.delete(subnet);
      throw notFound(subnet);
    }
    // records hold positions; turn them into addresses with the spec of the same generation
    if (reply[0] !== s.gen) s = await this.require(subnet, true);
    const items: Reservation[] = [];
    for (let i = 1; i + 1 < reply.length && items.length < limit; i += 2) {
      items.push(fromRecord(s.range, String(reply[i]), String(reply[i + 1])));
    }
    const more = (reply.length - 1) / 2 > limit;
    const last = items[items.length - 1];
    return more && last ? { items, nextCursor: encodeCursor(last.owner) } : { items };
  }

  async release(subnet: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    return (await this.releaseOne(subnet, owner, '')) === 'released';
  }

  /** false when the guard refused (the subnet is Kubernetes'); otherwise whether anything was held. */
  private async releaseOne(
    subnet: string,
    owner: string,
    guard: '' | 'unmanaged',
  ): Promise<'released' | 'none' | false> {
    const holder = `${subnet}/${owner}`;
    if (this.splitMac) {
      const r = (await this.cmd.release(...subnetKeys(subnet), owner, holder, guard)) as Reply;
      if (r[0] === -1) return false;
      // r[1]: the record's MAC, for a holder the registry knows by m:<MAC> only (allocated on one Redis)
      const mac = await this.cmd.macRelease(...MAC_KEYS, holder, String(r[1] ?? ''));
      return r[0] === 1 || mac ? 'released' : 'none';
    }
    const r = (await this.cmd.releaseWithMac(
      ...subnetKeys(subnet),
      ...MAC_KEYS,
      owner,
      holder,
      guard,
    )) as Reply;
    if (r[0] === -1) return false;
    return r[0] === 1 || r[1] ? 'released' : 'none';
  }

  async replace(req: ReplaceRequest): Promise<Reservation> {
    checkOwner(req.owner);
    const holder = `${req.subnet}/${req.owner}`;
    const mac = req.mac !== undefined && req.mac !== '' ? canonicalMac(req.mac) : '';
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const s = await this.require(req.subnet, attempt > 0);
      const plan = (f: Family, fixed: string | undefined) =>
        req.move?.includes(f) ? '*' : fixedPosition(s.range, f, fixed);
      const v4 = plan(4, req.v4);
      const v6 = plan(6, req.v6);
      // Cluster: the MAC lives in another slot, so it moves first (and back if the addresses are
      // refused). A crash in between leaves the owner its addresses; audit() shows the MAC mismatch.
      let previousMac: string | undefined;
      if (this.splitMac && mac) {
        // the held MAC from the record too: the registry may know the holder by m:<MAC> only
        const [, rec] = (await this.cmd.get(...subnetKeys(req.subnet), req.owner)) as [
          unknown,
          string | null,
        ];
        const held = rec?.split('|')[2] ?? '';
        const m = (await this.cmd.macSwap(...MAC_KEYS, holder, mac, held)) as string[];
        if (m[0] === 'ERR') throw scriptError(s.range, req, m);
        previousMac = m[1] !== mac ? m[1] : undefined;
      }
      const reply = (
        this.splitMac
          ? await this.cmd.replace(...subnetKeys(req.subnet), s.gen, req.owner, holder, v4, v6, mac)
          : await this.cmd.replaceWithMac(
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
      if (reply[0] !== 'OK' && previousMac) await this.cmd.macSwap(...MAC_KEYS, holder, previousMac);
      if (reply[0] === 'STALE' || reply[0] === 'NOSUBNET') {
        this.cache.delete(req.subnet);
        if (reply[0] === 'NOSUBNET') throw notFound(req.subnet);
        continue;
      }
      if (reply[0] === 'ERR') throw scriptError(s.range, req, reply);
      return fromRecord(s.range, req.owner, String(reply[1]));
    }
    throw new DomainError(Reason.SubnetNotReady, `subnet ${req.subnet} is being changed; try again`);
  }

  async counts(subnet: string): Promise<SubnetCounts> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const s = await this.require(subnet, attempt > 0);
      const r = (await this.cmd.counts(...subnetKeys(subnet))) as [
        string | null,
        string,
        string,
        string[],
        string[],
      ];
      if (r[0] === null) {
        this.cache.delete(subnet);
        throw notFound(subnet);
      }
      if (r[0] !== s.gen) continue;
      const fam = (fr: FamilyRange | undefined, ox: string, positions: string[]) => {
        if (!fr) return { available: 0n, using: 0, range: '' };
        const values = positions.map((p) => valueAt(fr, p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const using = BigInt(values.length);
        const available = fr.usableCount - fr.excludedCount - (using - BigInt(ox));
        return { available, using: values.length, range: formatUsingRange(fr.family, values) };
      };
      const c4 = fam(s.range.v4, r[1], r[3]);
      const c6 = fam(s.range.v6, r[2], r[4]);
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
    throw new DomainError(Reason.SubnetNotReady, `subnet ${subnet} is being changed; try again`);
  }

  async audit(subnet: string): Promise<Violation[]> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const s = await this.require(subnet, attempt > 0);
      const dump = snapshotOfDump((await this.cmd.dump(...subnetKeys(subnet))) as SubnetDump);
      if (!dump) throw notFound(subnet);
      if (dump.gen !== s.gen) continue;
      const { records } = dump.snapshot;
      const violations = auditSnapshot(s.range, dump.snapshot);
      // MACs live in another slot: checked by a second read (not atomic with the snapshot)
      const holders = [...records.keys()].map((o) => `${subnet}/${o}`);
      if (holders.length > 0) {
        const recMacs = holders.map(
          (h) => (records.get(h.slice(subnet.length + 1)) ?? '').split('|')[2] ?? '',
        );
        const macs = await this.redis.hmget(MAC_MAP, ...holders.map((h) => `h:${h}`));
        const back = await this.redis.hmget(MAC_MAP, ...recMacs.map((m) => `m:${m}`));
        holders.forEach((h, i) => {
          const mac = recMacs[i];
          // on one Redis the record alone carries the MAC (no h:<holder>); m:<MAC> names the holder
          if ((macs[i] !== mac && macs[i] !== null) || back[i] !== h) {
            violations.push({
              kind: 'mac',
              message: `${h} records MAC ${mac} but the MAC registry says ${macs[i] ?? 'none'} (held by ${back[i] ?? 'nobody'})`,
            });
          }
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
        const [next, flat] = await this.redis.hscan(MAC_MAP, cursor, 'COUNT', 1000);
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
            if ((records.get(owner) ?? '').split('|')[2] !== k.slice(2)) mHeld.push([k.slice(2), owner]);
          }
        }
        cursor = next;
      } while (cursor !== '0');
      const suspects = mHeld.filter(([, owner]) => !hHeld.has(owner));
      if (suspects.length > 0) {
        // read again: an owner allocated since the snapshot holds its MAC in its record by now
        const now = await this.redis.hmget(stateKey(subnet), ...suspects.map(([, o]) => `o:${o}`));
        suspects.forEach(([mac, owner], i) => {
          if ((now[i] ?? '').split('|')[2] === mac) return;
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

  // -------------------------------------------------------------------------------------------

  private async load(name: string, fresh = false): Promise<CachedSubnet | undefined> {
    const cached = this.cache.get(name);
    if (cached && !fresh) return cached;
    const [gen, json, mgr] = await this.redis.hmget(stateKey(name), 'gen', 'spec', 'mgr');
    if (!gen || !json) {
      this.cache.delete(name);
      return undefined;
    }
    const s: CachedSubnet = {
      gen,
      range: rangeFromJson(name, json),
      managedBy: mgr === 'kubernetes' ? 'kubernetes' : 'manual',
    };
    this.cache.set(name, s);
    return s;
  }

  private async require(name: string, fresh = false): Promise<CachedSubnet> {
    const s = await this.load(name, fresh);
    if (!s) throw notFound(name);
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// pure helpers

function specJson(range: SubnetRange): string {
  return JSON.stringify({ cidrBlock: range.cidrBlock, gateway: range.gateway, excludeIps: range.excludeIps });
}

function rangeFromJson(name: string, json: string): SubnetRange {
  const spec = JSON.parse(json) as { cidrBlock: string; gateway: string; excludeIps: string[] };
  return subnetRange({ name, ...spec });
}

const infoOf = (r: SubnetRange, managedBy: SubnetManager): SubnetInfo => ({
  name: r.name,
  cidrBlock: r.cidrBlock,
  gateway: r.gateway,
  excludeIps: r.excludeIps,
  protocol: r.protocol,
  managedBy,
});

const encodeCursor = (owner: string) => Buffer.from(owner, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
