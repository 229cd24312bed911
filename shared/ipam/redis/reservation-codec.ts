// The allocator's record codecs: a reservation record (v4pos '|' v6pos '|' mac, positions in the
// subnet's blocks) and the allocate script's reply, turned into the Reservation/Allocation values
// callers see. Pure: the positions are decoded with the spec of the generation that wrote them.
import type { Allocation, Reservation } from '../allocator.ts';
import { addressOf } from '../positions.ts';
import type { SubnetRange } from '../subnet-range.ts';

/** The MAC a record (v4pos '|' v6pos '|' mac) carries; '' for none or no record. */
export const macOfRecord = (rec: string | null | undefined): string => rec?.split('|')[2] ?? '';

function reservationOf(
  range: SubnetRange,
  owner: string,
  v4pos: string,
  v6pos: string,
  mac: string,
): Reservation {
  return {
    subnet: range.name,
    owner,
    ...(v4pos && range.v4 ? { v4: addressOf(range.v4, v4pos) } : {}),
    ...(v6pos && range.v6 ? { v6: addressOf(range.v6, v6pos) } : {}),
    mac,
  };
}

/** An allocation from the script's reply: the record v4pos '|' v6pos '|' mac, '=' first when held already. */
export function allocationOf(range: SubnetRange, owner: string, reply: string): Allocation {
  const held = reply.charCodeAt(0) === 61; // '='
  const a = held ? 0 : -1;
  const b = reply.indexOf('|', a + 1);
  const c = reply.indexOf('|', b + 1);
  const v4pos = reply.slice(a + 1, b);
  const v6pos = reply.slice(b + 1, c);
  // keys in the order of a Reservation (subnet, owner, v4, v6, mac), then created
  const out = { subnet: range.name, owner } as { -readonly [K in keyof Allocation]: Allocation[K] };
  if (v4pos && range.v4) out.v4 = addressOf(range.v4, v4pos);
  if (v6pos && range.v6) out.v6 = addressOf(range.v6, v6pos);
  out.mac = reply.slice(c + 1);
  out.created = !held;
  return out;
}

export function fromRecord(range: SubnetRange, owner: string, rec: string): Reservation {
  const [v4, v6, mac] = rec.split('|');
  return reservationOf(range, owner, v4 ?? '', v6 ?? '', mac ?? '');
}

/** The first count-1 fields split at '|', the last one whole (it may hold '|', e.g. an owner). */
export function splitFields(text: string, count: number): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 1; i < count; i++) {
    const at = text.indexOf('|', from);
    if (at < 0) break;
    out.push(text.slice(from, at));
    from = at + 1;
  }
  out.push(text.slice(from));
  return out;
}
