// Where the delivery tells the settled-version record (settled.ts) what the functions handled: a
// key is settled at the newest version its queue stands for once the queue is empty after a final
// answer, a delivered delete forgets it, and a state skipped as a repeat moves it along.
import type { ChangeEvent } from './cache.ts';
import { rvOf } from './object-queue.ts';
import type { KeyState } from './pending-key.ts';
import type { SettledVersions } from './settled.ts';

/** Records a final answer (a 2xx, or a verdict on the object) to `event` of the pending key `st`. */
export function recordFinalAnswer(
  settled: SettledVersions | undefined,
  st: KeyState,
  event: ChangeEvent,
): void {
  if (!settled) return;
  if (event.action === 'delete') settled.forget(st.key);
  else if (st.queue.length === 0) settled.settle(st.key, st.newestRv ?? rvOf(event));
}

/**
 * A state `rv` of `key` that is not delivered because it repeats `previousRv`. `pending`: the key's
 * entry in the pending set, if it has one: its queue now stands for this version too; without, the
 * key is settled if the state it repeats was.
 */
export function recordSkipped(
  settled: SettledVersions | undefined,
  pending: KeyState | undefined,
  skip: { key: string; rv: string | undefined; previousRv: string | undefined },
): void {
  if (!settled || skip.rv === undefined) return;
  if (pending) {
    if (pending.newestRv !== undefined) pending.newestRv = skip.rv;
  } else settled.skippedAfter(skip.key, skip.rv, skip.previousRv);
}
