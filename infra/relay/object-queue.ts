// One object's FIFO of undelivered events and the rules that keep it short. Handlers are
// level-triggered, so a newer state of an object replaces an older pending one and the queue holds
// no more than the object's latest state (and the deletes of its earlier incarnations). Pure: plain
// array edits, tested without servers.
import type { Action } from '../../shared/events/types.ts';
import type { ChangeEvent } from './cache.ts';

// Handlers are level-triggered, so a newer state of the same object replaces an older pending one;
// an object first announced as added stays an add.
const mergedAction = (older: Action, newer: Action): Action => (older === 'add' ? 'add' : newer);

/** Puts `ev` behind `queue`'s pending events, collapsing where it loses nothing. Returns how many collapsed. */
export function enqueueCollapsing(queue: ChangeEvent[], ev: ChangeEvent): number {
  let collapsed = 0;
  if (ev.action === 'delete') {
    // A delete supersedes pending adds/updates after the last delete, but never the delete of
    // another incarnation (uid) of the object: its cleanup may differ. The same one twice (a
    // relist's delete and the watch's) is one.
    while (queue.length > 0 && queue[queue.length - 1]!.action !== 'delete') {
      queue.pop();
      collapsed++;
    }
    const last = queue[queue.length - 1];
    const uid = ev.object.metadata.uid;
    if (last && uid !== undefined && last.object.metadata.uid === uid) {
      queue[queue.length - 1] = ev;
      return collapsed + 1;
    }
    queue.push(ev);
    return collapsed;
  }
  const last = queue[queue.length - 1];
  if (last && last.action !== 'delete') {
    queue[queue.length - 1] = { ...ev, action: mergedAction(last.action, ev.action) };
    return 1;
  }
  queue.push(ev);
  return 0;
}

/**
 * Puts a failed event back in front; a newer add/update behind it replaces it (deletes stay).
 * Returns how many collapsed (0 or 1).
 */
export function requeueCollapsing(queue: ChangeEvent[], event: ChangeEvent): number {
  const newer = queue[0];
  if (event.action !== 'delete' && newer && newer.action !== 'delete') {
    queue[0] = { ...newer, action: mergedAction(event.action, newer.action) };
    return 1;
  }
  queue.unshift(event);
  return 0;
}

export const rvOf = (ev: ChangeEvent) => ev.object.metadata.resourceVersion;

/**
 * Removes from `queue` the adds and updates whose resourceVersion is in `produced` (exact matches:
 * resourceVersions are opaque). Deletes stay: a delete is never an echo to drop. Returns how many.
 */
export function dropEchoes(queue: ChangeEvent[], produced: ReadonlySet<string>): number {
  let kept = 0;
  for (const ev of queue) {
    const rv = rvOf(ev);
    if (ev.action !== 'delete' && rv !== undefined && produced.has(rv)) continue;
    queue[kept++] = ev;
  }
  const dropped = queue.length - kept;
  queue.length = kept;
  return dropped;
}
