// The reasons a request or event can fail, shared by every part of the domain package. Each is a
// stable, machine-readable name (it appears in HTTP bodies and in Vip/Subnet condition reasons);
// the message says what a person can do about it. functions/ maps reasons to HTTP status codes.

export const Reason = {
  SubnetNotFound: 'SubnetNotFound',
  SubnetNotReady: 'SubnetNotReady',
  InvalidSubnet: 'InvalidSubnet',
  AddressOutOfRange: 'AddressOutOfRange',
  AddressConflict: 'AddressConflict',
  MACConflict: 'MACConflict',
  SubnetFull: 'SubnetFull',
  InvalidAddress: 'InvalidAddress',
  InvalidMAC: 'InvalidMAC',
  InvalidSelector: 'InvalidSelector',
  InvalidType: 'InvalidType',
  InvalidSpec: 'InvalidSpec',
  ImmutableField: 'ImmutableField',
  /** A spec change of an object whose deletion has started (metadata.deletionTimestamp set). */
  DeletionInProgress: 'DeletionInProgress',
  ReservationNotFound: 'ReservationNotFound',
  /**
   * The manual reservation API asked to register, change or delete a subnet the Kubernetes side
   * manages, or to create, change or release a reservation a Kubernetes-side owner holds.
   */
  ManagedByKubernetes: 'ManagedByKubernetes',
  /** A subnet change or delete refused while reservations exist. */
  SubnetInUse: 'SubnetInUse',
  /** A kube-ovn or Multus annotation on a pod that cannot be parsed. */
  InvalidAnnotation: 'InvalidAnnotation',
  /** A pod asks for a Vip (`ovn.kubernetes.io/vip`) that another pod holds. */
  VipInUse: 'VipInUse',
  /** A SwitchLBRule whose vip is not the address of a switch_lb_vip Vip, or whose ports are invalid. */
  InvalidRule: 'InvalidRule',
  /** A pod names a Vip (`ovn.kubernetes.io/vip`) that does not exist (yet). */
  VipNotFound: 'VipNotFound',
  /** A pod names a Vip that has no address yet, or is being deleted. */
  VipNotReady: 'VipNotReady',
  /**
   * Beside kube-ovn-controller: a Vip asks for an address outside this system's Vip range that
   * kube-ovn-controller has not granted to it (yet).
   */
  AddressOwnedByKubeOvn: 'AddressOwnedByKubeOvn',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly reason: Reason,
    message: string,
    /** Extra facts for machines, e.g. `{ holder: 'vip-a' }` on a conflict. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;

/**
 * A refusal's message for a person, naming the holder exactly once: the allocator's own messages
 * already name it ("... is already held by vip/a ..."), others may only carry it in `details`.
 */
export function refusalMessage(err: DomainError): string {
  const holder = err.details.holder;
  if (!holder || holder === 'gateway' || err.message.includes(holder)) return err.message;
  return `${err.message} (held by ${holder})`;
}
