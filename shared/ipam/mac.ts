// MAC address values. Stored and returned upper-case with colons (`00:00:00:0A:1B:2C`), as the seed shows.
import { DomainError, Reason } from '../domain/errors.ts';

/** A MAC's bit in the dynamic space's bitmap ({ipam-mac}:u: 00:00:00:XX:XX:XX, value i+1 at bit
 *  i, as the scripts' macBit), undefined outside that space. */
export function dynamicMacBit(mac: string): number | undefined {
  if (!mac.startsWith('00:00:00:')) return undefined;
  const v = Number.parseInt(mac.slice(9).replaceAll(':', ''), 16);
  return Number.isInteger(v) && v > 0 ? v - 1 : undefined;
}

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
