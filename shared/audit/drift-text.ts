// Small shared pieces of the audit's comparisons: how addresses and objects are written in a
// drift, the order drifts are reported in, and the reconcile action that names an object.
import type { Pod } from '../domain/types.ts';
import type { Drift } from './types.ts';

export const podRef = (p: Pod) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
export const addrText = (a: { v4?: string | undefined; v6?: string | undefined; mac?: string | undefined }) =>
  [a.v4, a.v6, a.mac].filter(Boolean).join(' ') || 'nothing';
export const upper = (s: string | undefined) => s?.toUpperCase();
export const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');

export function reconcileOf(object: string): Drift['action'] {
  const [kind, ...rest] = object.split('/');
  if (kind === 'Vip') return { type: 'reconcile', kind: 'Vip', name: rest.join('/') };
  const [namespace, name] = rest as [string, string];
  return { type: 'reconcile', kind: 'Pod', name, namespace };
}
