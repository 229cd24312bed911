// The allocator port: what callers (HTTP handlers, event handlers) use. Named option and result
// objects only. Implemented over Redis by ./redis/redis-allocator.ts.
import type { SubnetSpec } from './subnet-range.ts';

export type { SubnetSpec } from './subnet-range.ts';

/** Who registered a subnet: the Subnet reconciler (`kubernetes`) or anyone else (`manual`). */
/** A subnet's stored record changed under every attempt to register it: transient, retry later. */
export class ConcurrentChangeError extends Error {
  override readonly name = 'ConcurrentChangeError';
}

export type SubnetManager = 'kubernetes' | 'manual';

export interface SubnetInfo {
  readonly name: string;
  /** Canonical form: `10.16.0.0/16`, `fd00:10:16::/64` or `10.16.0.0/16,fd00:10:16::/64`. */
  readonly cidrBlock: string;
  readonly gateway: string;
  readonly excludeIps: readonly string[];
  readonly protocol: 'IPv4' | 'IPv6' | 'Dual';
  /** Stored with the registration: a `kubernetes` subnet can be changed or deleted only by
   *  callers that say `managedBy: 'kubernetes'`. */
  readonly managedBy: SubnetManager;
}

export interface RegisterOptions {
  /** `kubernetes` (the Subnet reconciler) marks the subnet, atomically with the registration, and
   *  takes over a manual one. Default `manual`: refused (`ManagedByKubernetes`) on a marked subnet. */
  readonly managedBy?: SubnetManager;
}

export interface AllocateRequest {
  readonly subnet: string;
  /** Opaque, chosen by the caller (e.g. `vip/<name>`, `pod/<pod>.<ns>`); scoped to the subnet. */
  readonly owner: string;
  /** Fixed IPv4 address; otherwise the lowest free one. */
  readonly v4?: string | undefined;
  /** Fixed IPv6 address (any case; stored canonical); otherwise the lowest free one. */
  readonly v6?: string | undefined;
  /** Fixed MAC (any case; stored upper-case); otherwise a free `00:00:00:XX:XX:XX`. */
  readonly mac?: string | undefined;
}

export interface Reservation {
  readonly subnet: string;
  readonly owner: string;
  readonly v4?: string;
  readonly v6?: string;
  readonly mac: string;
}

export interface Allocation extends Reservation {
  /** false when the owner already held this reservation (idempotent repeat). */
  readonly created: boolean;
}

export interface ListOptions {
  /** Opaque cursor from a previous page's nextCursor. */
  readonly cursor?: string | undefined;
  /** 1..1000, default 100. */
  readonly limit?: number | undefined;
}

export interface ReservationPage {
  readonly items: readonly Reservation[];
  readonly nextCursor?: string;
}

/** SPEC §1 Subnet status. v6 numbers beyond 2^53 are floats, as kube-ovn's CRD (float64); the
 *  `...Exact` strings are exact. */
export interface SubnetCounts {
  readonly v4AvailableIPs: number;
  readonly v4UsingIPs: number;
  readonly v4UsingIPRange: string;
  readonly v6AvailableIPs: number;
  readonly v6UsingIPs: number;
  readonly v6UsingIPRange: string;
  readonly v4AvailableIPsExact: string;
  readonly v6AvailableIPsExact: string;
}

export interface Violation {
  readonly kind:
    | 'bit-without-owner'
    | 'owner-without-bit'
    | 'two-owners'
    | 'record-mismatch'
    | 'counter'
    | 'mac';
  readonly family?: 4 | 6;
  readonly address?: string;
  readonly message: string;
}

export interface DeleteSubnetOptions {
  /** Release every reservation first instead of refusing. */
  readonly force?: boolean;
  /** Default `manual`: a subnet marked `kubernetes` is refused (`ManagedByKubernetes`). */
  readonly managedBy?: SubnetManager;
}

export interface ReplaceRequest {
  readonly subnet: string;
  readonly owner: string;
  /** Fixed addresses to hold instead (a family not named keeps what it holds). */
  readonly v4?: string | undefined;
  readonly v6?: string | undefined;
  /** Families to move to a free address other than the held one (lowest never-used first). */
  readonly move?: readonly (4 | 6)[];
  /** A MAC to hold instead (default: keep). */
  readonly mac?: string | undefined;
}

export interface Allocator {
  /** Idempotent. New excludeIps/gateway are applied; a changed cidrBlock is refused (SubnetInUse) while held. */
  registerSubnet(spec: SubnetSpec, opts?: RegisterOptions): Promise<SubnetInfo>;
  /** From this process's cache when it has the subnet (checked by every script through the
   *  generation); `fresh` reads Redis (what a person or the audit is shown). */
  getSubnet(name: string, opts?: { fresh?: boolean }): Promise<SubnetInfo | undefined>;
  /** Names of every registered subnet, sorted (a scan: for the audit, not for hot paths). */
  listSubnets(): Promise<string[]>;
  /** false when there was no such subnet; SubnetInUse while reservations exist (unless forced). */
  deleteSubnet(name: string, opts?: DeleteSubnetOptions): Promise<boolean>;
  /** Idempotent by owner; both families (dual stack) and the MAC, or nothing. */
  allocate(req: AllocateRequest): Promise<Allocation>;
  get(subnet: string, owner: string): Promise<Reservation | undefined>;
  /** Owners in lexical order. */
  list(subnet: string, opts?: ListOptions): Promise<ReservationPage>;
  /** Idempotent: false when the owner held nothing. */
  release(subnet: string, owner: string): Promise<boolean>;
  /**
   * An owner's addresses and MAC exchanged for others in one atomic step (one script): the owner
   * holds either the old reservation or the new one, never none. `ReservationNotFound` when the
   * owner holds nothing; a refusal (AddressConflict, SubnetFull, MACConflict, ...) changes nothing.
   */
  replace(req: ReplaceRequest): Promise<Reservation>;
  counts(subnet: string): Promise<SubnetCounts>;
  /** Every broken invariant of the subnet's stored state; [] when healthy. */
  audit(subnet: string): Promise<Violation[]>;
}
