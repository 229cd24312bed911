// Every reservation of a subnet, page after page: the one paging loop of the allocator's callers.
import type { Allocator, Reservation } from './allocator.ts';

/** Every reservation of a subnet, `limit` per list call; `progress` gets the running count. */
export async function allReservations(
  allocator: Pick<Allocator, 'list'>,
  subnet: string,
  opts: { limit?: number; progress?: (n: number) => void } = {},
): Promise<Reservation[]> {
  const out: Reservation[] = [];
  let cursor: string | undefined;
  do {
    const page = await allocator.list(subnet, { ...(cursor ? { cursor } : {}), limit: opts.limit ?? 1000 });
    out.push(...page.items);
    opts.progress?.(out.length);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
