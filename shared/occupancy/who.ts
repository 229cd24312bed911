// Who holds an address: the answer of `kubectl vip who <ip>`. Pure: the caller passes the subnets
// the allocator knows and their reservations.

import { formatIp, parseIp } from '../domain/ip-codec.ts';
import type { Reservation, SubnetInfo } from '../ipam/allocator.ts';
import { inBlock, isExcluded } from '../ipam/subnet-range.ts';
import { type Holder, holderOf, rangeOf } from './grid.ts';

export type AddressUse =
  | { readonly subnet: string; readonly state: 'held'; readonly holder: Holder; readonly mac: string }
  | { readonly subnet: string; readonly state: 'gateway' | 'excluded' | 'free' | 'network' | 'broadcast' };

export interface WhoAnswer {
  /** The address in canonical form. */
  readonly address: string;
  /** One per subnet whose block contains the address (usually one). */
  readonly uses: readonly AddressUse[];
}

export interface SubnetReservations {
  readonly info: SubnetInfo;
  readonly reservations: readonly Reservation[];
}

/** undefined when `text` is not an IP address. */
export function whoHolds(text: string, subnets: readonly SubnetReservations[]): WhoAnswer | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  const address = formatIp(ip);
  const uses: AddressUse[] = [];
  for (const { info, reservations } of subnets) {
    const fr = rangeOf(info).families.find((f) => f.family === ip.family);
    if (!fr || !inBlock(fr, ip.value)) continue;
    const held = reservations.find((r) => (ip.family === 4 ? r.v4 : r.v6) === address);
    if (held) uses.push({ subnet: info.name, state: 'held', holder: holderOf(held.owner), mac: held.mac });
    else if (ip.value < fr.firstUsable) uses.push({ subnet: info.name, state: 'network' });
    else if (ip.value > fr.lastUsable) uses.push({ subnet: info.name, state: 'broadcast' });
    else if (ip.value === fr.gateway) uses.push({ subnet: info.name, state: 'gateway' });
    else if (isExcluded(fr, ip.value)) uses.push({ subnet: info.name, state: 'excluded' });
    else uses.push({ subnet: info.name, state: 'free' });
  }
  return { address, uses };
}

/** One line per use, e.g. `10.16.0.5  subnet ovn-default  Vip web-vip  mac 00:00:00:00:00:03`. */
export function whoLines(answer: WhoAnswer): string[] {
  if (answer.uses.length === 0) return [`${answer.address}  in no subnet the allocator knows`];
  return answer.uses.map((u) => {
    const where = `${answer.address}  subnet ${u.subnet}`;
    if (u.state !== 'held') {
      const what = {
        gateway: 'the gateway',
        excluded: 'excluded (excludeIps)',
        free: 'free',
        network: 'the network address (never handed out)',
        broadcast: 'the broadcast address (never handed out)',
      }[u.state];
      return `${where}  ${what}`;
    }
    const kind = { vip: 'Vip', pod: 'pod', manual: 'manual owner' }[u.holder.state];
    return `${where}  ${kind} ${u.holder.name}  mac ${u.mac}`;
  });
}
