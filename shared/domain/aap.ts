// Allowed-address-pairs: which pods are virtual parents of a Vip (SPEC §3.1), and which Vips a
// pod change can affect. Pure: the handler lists the pods of the Vip's namespace and passes them in.
import { AAPS_ANNOTATION } from './annotations.ts';
import { familyOf, toBigInt } from './ip.ts';
import { readPodAnnotations } from './pod-annotations.ts';
import { nicOnSubnet, podNics, type SubnetPlacement } from './pod-network.ts';
import { type LabelRequirement, matchesSelector } from './selector.ts';
import type { Pod } from './types.ts';
import type { PortNamingOptions } from './workload.ts';

/** `ovn.kubernetes.io/aaps`: trimmed, empty items dropped, duplicates removed, first order kept. */
export function parseAaps(value: string | undefined): string[] {
  const out: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const v = raw.trim();
    if (v !== '' && !out.includes(v)) out.push(v);
  }
  return out;
}

export function podAaps(pod: Pod | undefined): string[] {
  return parseAaps(pod?.metadata.annotations?.[AAPS_ANNOTATION]);
}

/**
 * The pods that name each Vip in their aaps annotation, by namespace and Vip name: what
 * `virtualParents` would consider of `pods` for that Vip, read once for all Vips (the audit
 * checks every AAP Vip of the cluster; scanning every pod for each was O(Vips x pods)).
 */
export function podsNamingVips(pods: readonly Pod[]): (namespace: string, vip: string) => readonly Pod[] {
  const by = new Map<string, Pod[]>();
  for (const pod of pods) {
    const ns = pod.metadata.namespace ?? 'default';
    for (const vip of podAaps(pod)) {
      const key = `${ns}/${vip}`;
      const list = by.get(key);
      if (list) list.push(pod);
      else by.set(key, [pod]);
    }
  }
  return (namespace, vip) => by.get(`${namespace}/${vip}`) ?? [];
}

/** The Vip facts parent selection needs (from a parsed VipSpec plus the Vip's name). */
export interface AapVip {
  name: string;
  subnet: string;
  /** No namespace: not an AAP Vip, so no parents. */
  namespace?: string;
  selector: readonly LabelRequirement[];
}

export interface VirtualParent {
  portName: string;
  pod: string;
  v4?: string;
  v6?: string;
  mac?: string;
}

/**
 * The virtual parents of a Vip, sorted by port name: pods of the Vip's namespace, not being
 * deleted, listing the Vip in their aaps annotation, whose labels match the selector (empty
 * selector: every such pod), each represented by its NIC on the Vip's subnet. A pod with no NIC
 * on that subnet, or whose NICs cannot be resolved, is not a parent. Addresses come from the
 * NIC's annotations (absent until the pod has been allocated).
 */
export function virtualParents(
  vip: AapVip,
  pods: readonly Pod[],
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): VirtualParent[] {
  if (!vip.namespace) return [];
  const parents = new Map<string, VirtualParent>();
  for (const pod of pods) {
    const m = pod.metadata;
    if ((m.namespace ?? 'default') !== vip.namespace) continue;
    if (m.deletionTimestamp) continue;
    if (!podAaps(pod).includes(vip.name)) continue;
    if (!matchesSelector(vip.selector, m.labels)) continue;
    const nics = podNics(pod, subnets, opts);
    if (!nics.ok) continue;
    const nic = nicOnSubnet(nics.value, vip.subnet);
    if (!nic) continue;
    const ann = readPodAnnotations(pod, nic.provider);
    const p: VirtualParent = { portName: nic.portName, pod: m.name };
    if (ann.v4) p.v4 = ann.v4;
    if (ann.v6) p.v6 = ann.v6;
    if (ann.mac) p.mac = ann.mac.toUpperCase();
    parents.set(p.portName, p);
  }
  return [...parents.values()].sort((a, b) => cmp(a.portName, b.portName));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Numeric address order (10.16.0.9 before 10.16.0.10); non-addresses last, by text. */
function cmpAddr(a: string, b: string): number {
  const fa = familyOf(a);
  const fb = familyOf(b);
  if (fa && fb) {
    const x = toBigInt(a);
    const y = toBigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (fa) return -1;
  if (fb) return 1;
  return cmp(a, b);
}

/** What the Vip's status shows of its parents: the seed's address columns and the pods' names. */
export interface ParentColumns {
  pv4ip: string;
  pv6ip: string;
  pmac: string;
  /** Pod names (all in the Vip's spec.namespace), for `kubectl get vip -o wide`. */
  parents: string;
}

/**
 * status.pv4ip / pv6ip / pmac / parents: each list sorted on its own (addresses numerically, MACs
 * as upper-case text, which for fixed-width hex is numeric too, names as text), duplicates
 * removed, comma-joined; '' when none. Sorting each list independently keeps the output stable
 * whatever the pod order, at the price of not pairing the n-th v4 with the n-th MAC when a parent
 * lacks a family.
 */
export function parentColumns(parents: readonly VirtualParent[]): ParentColumns {
  const list = (pick: (p: VirtualParent) => string | undefined, order: (a: string, b: string) => number) =>
    [...new Set(parents.map(pick).filter((v): v is string => !!v))].sort(order).join(',');
  return {
    pv4ip: list((p) => p.v4, cmpAddr),
    pv6ip: list((p) => p.v6, cmpAddr),
    pmac: list((p) => p.mac, cmp),
    parents: list((p) => p.pod, cmp),
  };
}

/**
 * The Vips whose parents may change because a pod changed (added: old undefined; deleted: new
 * undefined): every Vip either version lists, sorted. Returns [] when nothing a parent decision
 * reads changed (labels, annotations, namespace, deletion), so relabels of unrelated pods cost nothing.
 */
export function vipsAffectedByPod(oldPod?: Pod, newPod?: Pod): string[] {
  const names = new Set([...podAaps(oldPod), ...podAaps(newPod)]);
  if (names.size === 0) return [];
  if (oldPod && newPod && !parentInputsChanged(oldPod, newPod)) return [];
  return [...names].sort(cmp);
}

function parentInputsChanged(a: Pod, b: Pod): boolean {
  return (
    a.metadata.namespace !== b.metadata.namespace ||
    a.metadata.name !== b.metadata.name ||
    !!a.metadata.deletionTimestamp !== !!b.metadata.deletionTimestamp ||
    !sameMap(a.metadata.labels, b.metadata.labels) ||
    !sameMap(a.metadata.annotations, b.metadata.annotations)
  );
}

function sameMap(
  a: Readonly<Record<string, string>> = {},
  b: Readonly<Record<string, string>> = {},
): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * One pod's part in an AAP Vip's parents, decided from that pod alone by the same rule as
 * virtualParents: `add`, its port on the Vip's subnet when it is a parent now; `remove`, the other
 * ports it has or had (`ports`), which must not be. `pod` undefined: the pod is gone.
 */
export interface ParentChange {
  add?: string;
  remove: string[];
}

export function podParentChange(
  vip: AapVip,
  ports: readonly string[],
  pod: Pod | undefined,
  subnets: readonly SubnetPlacement[],
  opts: PortNamingOptions = {},
): ParentChange {
  const add = pod ? virtualParents(vip, [pod], subnets, opts)[0]?.portName : undefined;
  const remove = [...new Set(ports)].filter((p) => p !== add).sort(cmp);
  return add ? { add, remove } : { remove };
}

/** A virtual port's parents after one pod's change: sorted, no duplicates (as withParents writes them). */
export function applyParentChange(current: readonly string[], change: ParentChange): string[] {
  const out = new Set(current.filter((p) => !change.remove.includes(p)));
  if (change.add) out.add(change.add);
  return [...out].sort(cmp);
}

/**
 * A parent as its logical switch port shows it (the addresses written from the same allocation as
 * the pod's annotations, and external_ids pod `<namespace>/<name>`), for the status columns without
 * reading the pod. Undefined when the port is not a pod's.
 */
export function parentFromPort(
  portName: string,
  view: { own?: { mac: string; ips: readonly string[] }; pod?: string },
): VirtualParent | undefined {
  const podName = view.pod?.split('/')[1];
  if (!podName) return undefined;
  const p: VirtualParent = { portName, pod: podName };
  for (const ip of view.own?.ips ?? []) {
    const family = familyOf(ip);
    if (family === 'v4' && !p.v4) p.v4 = ip;
    if (family === 'v6' && !p.v6) p.v6 = ip;
  }
  if (view.own?.mac) p.mac = view.own.mac.toUpperCase();
  return p;
}

/**
 * A pod as the AAP parent index records it (shared/reconcile/aap-index.ts): in its namespace, in
 * the set of each Vip its aaps annotation names. Undefined when it names none.
 */
export interface NamingPod {
  namespace: string;
  name: string;
  uid?: string;
  /** The state it was recorded from (its resourceVersion). */
  resourceVersion?: string;
  vips: string[];
}

export function namingPod(pod: Pod): NamingPod | undefined {
  const vips = podAaps(pod);
  if (vips.length === 0) return undefined;
  const m = pod.metadata;
  return {
    namespace: m.namespace ?? 'default',
    name: m.name,
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    vips,
  };
}

/**
 * The token written with a member: `<uid>/<resourceVersion>/<unique to this write>`. A pod already
 * recorded under a Vip (a token with its uid) is not written again, whatever its resourceVersion:
 * a relist, or an event for a change made by another handler (which the relay drops as an echo),
 * writes nothing. A member is forgotten only if its token is still the one read (no write since),
 * or, when its pod is deleted, if the token is that pod's (a pod re-created under the same name
 * has another uid).
 */
export const indexToken = (pod: Pick<NamingPod, 'uid' | 'resourceVersion'>, unique: string) =>
  `${tokenPrefixOf(pod.uid)}${pod.resourceVersion ?? ''}/${unique}`;
/** What every token written for this pod (uid) starts with. */
export const tokenPrefixOf = (uid: string | undefined) => `${uid ?? ''}/`;
/** The uid a token was written for. */
const uidOfToken = (token: string) => token.slice(0, token.indexOf('/'));

/**
 * Of the members read from a Vip's set (each with the pod as read after the set), those to forget:
 * the pod is gone, or it is another pod under that name (another uid) that does not name the Vip.
 * The pod that was recorded stays while it exists, even once it no longer names the Vip: it is
 * not written again on a later event (above), so forgetting it could lose it if it names the Vip
 * again meanwhile. Such a member costs a GET per reconcile of the Vip until the pod is deleted;
 * the parent rule ignores it. A member whose pod names the Vip stays, whatever its labels or NICs.
 */
export function staleMembers(
  vip: string,
  read: readonly { name: string; token: string; pod: Pod | undefined }[],
): { name: string; token: string }[] {
  return read
    .filter(
      (r) => !r.pod || ((r.pod.metadata.uid ?? '') !== uidOfToken(r.token) && !podAaps(r.pod).includes(vip)),
    )
    .map((r) => ({ name: r.name, token: r.token }));
}
