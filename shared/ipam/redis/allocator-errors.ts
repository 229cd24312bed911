// The DomainErrors the Redis allocator answers with: a script's refusal ('ERR' reason field detail)
// turned into its reason and a message naming what was asked, and the two errors every part
// raises (the subnet is not registered; the subnet is Kubernetes').
import { DomainError, Reason } from '../../domain/errors.ts';
import type { AllocateRequest } from '../allocator.ts';
import { canonicalMac } from '../mac.ts';
import { addressOf } from '../positions.ts';
import type { SubnetRange } from '../subnet-range.ts';

export function scriptError(
  range: SubnetRange,
  req: Pick<AllocateRequest, 'owner' | 'v4' | 'v6' | 'mac'>,
  reply: string[],
): DomainError {
  const [, reason, field, detail] = reply.map(String) as [string, string, string, string];
  const fr = field === 'v4' ? range.v4 : field === 'v6' ? range.v6 : undefined;
  const asked = field === 'v4' ? req.v4 : field === 'v6' ? req.v6 : req.mac;
  switch (reason) {
    case 'ImmutableField': {
      const held = fr ? (detail ? addressOf(fr, detail) : 'none') : detail;
      return new DomainError(
        Reason.ImmutableField,
        `owner ${req.owner} already holds ${field} ${held} in subnet ${range.name}; a reservation cannot change, release it first`,
        { field, held },
      );
    }
    case 'AddressConflict':
      return new DomainError(
        Reason.AddressConflict,
        detail === 'gateway'
          ? `${asked} is the gateway of subnet ${range.name}; choose another address`
          : `${asked} is already held by ${detail} in subnet ${range.name}`,
        { holder: detail, field },
      );
    case 'MACConflict':
      // no holder: a MAC taken from the dynamic space, kept by its bit and its owner's record only
      // (layout v3), so the script cannot name the owner
      return detail
        ? new DomainError(
            Reason.MACConflict,
            `MAC ${canonicalMac(req.mac ?? '')} is already held by ${detail}`,
            {
              holder: detail,
              field: 'mac',
            },
          )
        : new DomainError(
            Reason.MACConflict,
            `MAC ${canonicalMac(req.mac ?? '')} is already in use by a reservation that took it dynamically; pick another MAC`,
            { field: 'mac' },
          );
    case 'SubnetFull':
      return new DomainError(
        Reason.SubnetFull,
        field === 'mac'
          ? 'no free MAC address is left in 00:00:00:00:00:01-00:00:00:FF:FF:FF; release some reservations'
          : `subnet ${range.name} has no free IPv${field.slice(1)} address; release some or widen the subnet`,
        { field },
      );
    case 'AddressOutOfRange':
      return new DomainError(
        Reason.AddressOutOfRange,
        `subnet ${range.name} (${range.cidrBlock}) has no ${field} block`,
        {
          field,
        },
      );
    case 'ReservationNotFound':
      return new DomainError(
        Reason.ReservationNotFound,
        `owner ${req.owner} holds no reservation in subnet ${range.name}`,
        { subnet: range.name, owner: req.owner },
      );
    default:
      return new DomainError(Reason.InvalidSpec, `allocation refused: ${reply.join(' ')}`);
  }
}

export const managedByKubernetes = (subnet: string) =>
  new DomainError(
    Reason.ManagedByKubernetes,
    `subnet ${subnet} is managed by Kubernetes (a Subnet object declares it): change it through its Subnet object`,
    { subnet, managedBy: 'kubernetes' },
  );

export const notFound = (subnet: string) =>
  new DomainError(Reason.SubnetNotFound, `subnet ${subnet} is not registered; register it first`, { subnet });
