// Kubernetes-style conditions: replace one type, keep the others, and move lastTransitionTime
// only when the status flips (so a repeated reconcile writes the same object).
import type { Condition } from './types.ts';

export function setCondition(
  prev: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const old = prev?.find((c) => c.type === next.type);
  const keepTime = old && old.status === next.status && old.lastTransitionTime;
  const cond: Condition = { ...next, lastTransitionTime: keepTime ? old.lastTransitionTime : now };
  if (cond.observedGeneration === undefined) delete cond.observedGeneration;
  return [...(prev ?? []).filter((c) => c.type !== next.type), cond];
}
