// HolderChanged Events from the holder sync: the Vip is read first for its uid, which `kubectl
// describe` matches Events on. Fire-and-forget like every Event: a failed read or write is dropped.
import type { Vip } from '../domain/types.ts';
import type { EventRecorder } from '../reconcile/deps.ts';
import { holderChangedEvent } from '../reconcile/events.ts';

export function holderChangeEvents(
  kube: { getVip(name: string): Promise<Vip | undefined> },
  events: EventRecorder,
): (vip: string, from: string, to: string) => void {
  return (vip, from, to) => {
    kube.getVip(vip).then(
      (v) => {
        if (v) events.record(holderChangedEvent(v, from, to));
      },
      () => {},
    );
  };
}
