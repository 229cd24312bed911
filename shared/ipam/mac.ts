// MAC address values. Stored and returned upper-case with colons (`00:00:00:0A:1B:2C`), as the seed shows.
import { DomainError, Reason } from '../domain/errors.ts';

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** Canonical form of a fixed MAC, or InvalidMAC naming what is wrong. */
export function canonicalMac(text: string): string {
  const s = text.trim();
  if (!MAC.test(s)) {
    throw new DomainError(
      Reason.InvalidMAC,
      `"${text}" is not a MAC address (expected six hex pairs, e.g. 00:00:00:0A:1B:2C)`,
      {
        field: 'mac',
      },
    );
  }
  const mac = s.replace(/-/g, ':').toUpperCase();
  if (mac === '00:00:00:00:00:00') {
    throw new DomainError(Reason.InvalidMAC, 'the all-zero MAC cannot be assigned to a port', {
      field: 'mac',
    });
  }
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) {
    throw new DomainError(
      Reason.InvalidMAC,
      `${mac} is a multicast/broadcast MAC (first octet is odd); use a unicast one`,
      {
        field: 'mac',
      },
    );
  }
  return mac;
}
