// The manual reservation API's view of the allocator, with the ownership boundary (SPEC §6):
// subnets the Subnet reconciler registered are read-only here (the allocator's scripts refuse a
// manual register or delete of them atomically), and reservations of Kubernetes-side owners are
// read-only too: every write goes to an owner in the manual namespace (shared/domain/ownership.ts), so
// it cannot reach a `vip/`, `pod/` or any future Kubernetes key. Manual owners may hold addresses
// in a Kubernetes subnet: through the same allocator (no collision, never the gateway, counted).

import { DomainError, isDomainError, Reason } from '../domain/errors.ts';
import {
  apiOwnerName,
  manualOwner,
  namesKubernetesOwner,
  type OwnerSide,
  ownerSide,
  storedOwnerOf,
} from '../domain/ownership.ts';
import type {
  Allocator,
  ListOptions,
  Reservation,
  SubnetCounts,
  SubnetInfo,
  SubnetSpec,
} from '../ipam/index.ts';

export interface ManualReservation extends Omit<Reservation, 'owner'> {
  /** The API's name: manual owners without their namespace, Kubernetes owners as stored. */
  readonly owner: string;
  readonly managedBy: OwnerSide;
}

export interface ManualAllocateRequest {
  readonly subnet: string;
  readonly owner: string;
  readonly v4?: string | undefined;
  readonly v6?: string | undefined;
  readonly mac?: string | undefined;
}

const view = (r: Reservation): ManualReservation => ({
  ...r,
  owner: apiOwnerName(r.owner),
  managedBy: ownerSide(r.owner),
});

const refuseOwner = (subnet: string, owner: string) =>
  new DomainError(
    Reason.ManagedByKubernetes,
    `owner ${owner} is a Kubernetes object's reservation in subnet ${subnet}: the manual API can read it, not change or release it`,
    { subnet, owner, managedBy: 'kubernetes' },
  );

/** The allocator's errors name stored owners; the API names them as it shows them. */
function apiError(err: unknown): unknown {
  if (!isDomainError(err)) return err;
  const holder = err.details.holder;
  if (!holder || holder === 'gateway') return err;
  const name = apiOwnerName(holder);
  return new DomainError(err.reason, err.message.split(holder).join(name), {
    ...err.details,
    holder: name,
    holderManagedBy: ownerSide(holder),
  });
}

export function createManualReservations(allocator: Allocator) {
  /** A name that reads as a Kubernetes owner, or that a Kubernetes-side owner holds as stored. */
  const guardOwner = async (subnet: string, owner: string) => {
    if (namesKubernetesOwner(owner)) throw refuseOwner(subnet, owner);
    // a Kubernetes-side key of a kind this code does not know (yet) is refused as well
    if (ownerSide(owner) === 'kubernetes' && (await allocator.get(subnet, owner)))
      throw refuseOwner(subnet, owner);
  };
  return {
    /** `ManagedByKubernetes` when the Subnet reconciler registered it (decided in the script). */
    registerSubnet: (spec: SubnetSpec): Promise<SubnetInfo> =>
      allocator.registerSubnet(spec, { managedBy: 'manual' }),
    /** Fresh from Redis: the Kubernetes side may have re-registered it from another process. */
    getSubnet: (name: string): Promise<SubnetInfo | undefined> => allocator.getSubnet(name, { fresh: true }),
    counts: (name: string): Promise<SubnetCounts> => allocator.counts(name),
    deleteSubnet: (name: string, opts: { force?: boolean }): Promise<boolean> =>
      allocator.deleteSubnet(name, { force: opts.force === true, managedBy: 'manual' }),

    async allocate(req: ManualAllocateRequest): Promise<ManualReservation & { created: boolean }> {
      await guardOwner(req.subnet, req.owner);
      try {
        const r = await allocator.allocate({ ...req, owner: manualOwner(req.owner) });
        return { ...view(r), created: r.created };
      } catch (err) {
        throw apiError(err);
      }
    },

    async get(subnet: string, owner: string): Promise<ManualReservation | undefined> {
      const r = await allocator.get(subnet, storedOwnerOf(owner));
      return r ? view(r) : undefined;
    },

    async list(subnet: string, opts: ListOptions) {
      const page = await allocator.list(subnet, opts);
      return { items: page.items.map(view), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    },

    /** false when the manual owner held nothing. */
    async release(subnet: string, owner: string): Promise<boolean> {
      await guardOwner(subnet, owner);
      return allocator.release(subnet, manualOwner(owner));
    },
  };
}

export type ManualReservations = ReturnType<typeof createManualReservations>;
