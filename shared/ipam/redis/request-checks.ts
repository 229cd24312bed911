// Checks of an allocation request before any script runs: the owner's form, and a fixed address
// turned into its position in the subnet's block (or the reason it cannot be held).
import { DomainError, Reason } from '../../domain/errors.ts';
import { type Family, formatIp, parseIp } from '../../domain/ip-codec.ts';
import { positionOf } from '../positions.ts';
import { familyOf, inBlock, isUsable, type SubnetRange } from '../subnet-range.ts';

export function checkOwner(owner: string) {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 512) {
    throw new DomainError(Reason.InvalidSpec, 'owner must be a non-empty string of at most 512 characters', {
      field: 'owner',
    });
  }
}

/** The position of a fixed address, or '' when none was asked; throws the reason when unusable. */
export function fixedPosition(range: SubnetRange, family: Family, text: string | undefined): string {
  if (text === undefined || text === '') return '';
  const field = `v${family}`;
  const ip = parseIp(text);
  if (!ip) {
    throw new DomainError(Reason.InvalidAddress, `${field} "${text}" is not an IPv${family} address`, {
      field,
    });
  }
  if (ip.family !== family) {
    throw new DomainError(
      Reason.InvalidAddress,
      `${field} "${text}" is an IPv${ip.family} address; put it in v${ip.family}`,
      {
        field,
      },
    );
  }
  const fr = familyOf(range, family);
  if (!fr) {
    throw new DomainError(
      Reason.AddressOutOfRange,
      `subnet ${range.name} (${range.cidrBlock}) has no IPv${family} block for ${formatIp(ip)}`,
      { field },
    );
  }
  if (!inBlock(fr, ip.value) || !isUsable(fr, ip.value)) {
    const why = inBlock(fr, ip.value) ? 'is the network or broadcast address of' : 'is outside';
    throw new DomainError(
      Reason.AddressOutOfRange,
      `${formatIp(ip)} ${why} subnet ${range.name} (${range.cidrBlock})`,
      {
        field,
      },
    );
  }
  return positionOf(fr, ip.value);
}
