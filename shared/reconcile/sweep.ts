// Heals what no event will ever point at again (SPEC §4: no address held by a gone owner, after
// one resync). Both were found by the chaos test:
// - Missed pod deletes. Pods carry no finalizer: a relay killed between a delete and its delivery
//   never learns the pod existed, and its relist cannot report it gone.
// - Rows written for a Vip after its delete path ran: a pod's parent refresh read the Vip just
//   before it went, then wrote its virtual port back.
// Every Subnet event (the relay's resync re-sends them) runs `sweepOrphans` for its subnet.
//
// The sweep is the audit restricted to one subnet and one verdict: it asks the audit's judgement
// (shared/domain/ownership.ts) which reservations and ports have no live owner ("gone"), and
// repairs only those, after a point read confirms the owner is still absent. Misplaced and
// unwanted things are the audit's to report, not a resync's to act on.
import { judgePort, judgeReservation, type LiveOwners } from '../domain/ownership.ts';
import { portOwnerHint } from '../domain/vip-binding.ts';
import { KUBE_OVN_VENDOR } from '../domain/virtual-port.ts';
import type { Reservation } from '../ipam/index.ts';
import type { FoundPort, ReconcileDeps } from './deps.ts';
import { heldIn, ofKind, readLiveOwners } from './live-owners.ts';
import { reconcilePod, releaseBinding } from './pod.ts';

// Who exists, shared by the sweeps running at once in this process: a relist delivers every
// Subnet's event together, and each sweep listed every Vip and pod (at 100,000 Vips + 110,000 pods,
// eleven subnets' lists at once timed out and were retried). A list that began before a sweep read
// what its subnet holds is safe to share: it only preselects, and nothing goes before a point read
// confirms its owner absent. Keyed by the NB port, the one dependency every event of a process
// shares as is: each event's `kube` is its own wrapper (event-scope.ts), so keyed by it no two
// events' sweeps ever shared (at 213,000 objects, ten Subnet events meant ten 300 MB reads).
const inFlight = new WeakMap<object, Promise<LiveOwners>>();
function sharedLiveOwners(deps: ReconcileDeps): Promise<LiveOwners> {
  const key = deps.nb;
  const running = inFlight.get(key);
  if (running) return running;
  const started = readLiveOwners(deps).finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

/** Both sweeps; returns how many things were freed or removed. */
export async function sweepOrphans(deps: ReconcileDeps, subnet: string): Promise<number> {
  // Beside kube-ovn-controller the switch holds kube-ovn's own ports (pods, nodes, routers), all
  // with vendor kube-ovn: what is gone is for it to judge, not for this sweep.
  if (deps.besideKubeOvn) return 0;
  // What is held first, then who exists: an owner that held something before the list was taken
  // and is missing from it was deleted (each is confirmed by a point read before anything goes).
  const held = await heldIn(deps, subnet);
  const ports = await deps.nb.findPorts({ ls: subnet, vendor: KUBE_OVN_VENDOR });
  if (held.length === 0 && ports.length === 0) {
    // Nothing to sweep, but the AAP index waits for a whole-cluster pod list to be known complete
    // (readLiveOwners completes it): a new cluster's Subnets are empty at their first event.
    if (deps.aapIndex && !(await deps.aapIndex.isComplete())) await sharedLiveOwners(deps);
    return 0;
  }
  const live = await sharedLiveOwners(deps);
  return (
    (await sweepGonePods(deps, subnet, ofKind(held, 'pod'), live)) +
    (await sweepGoneVips(deps, subnet, ofKind(held, 'vip'), ports, live))
  );
}

/**
 * Vip reservations and NB ports of the subnet whose Vip no longer exists. A Vip that is being
 * deleted still exists (its finalizer holds it), so its own delete path is never raced here.
 */
async function sweepGoneVips(
  deps: ReconcileDeps,
  subnet: string,
  held: readonly Reservation[],
  ports: readonly FoundPort[],
  live: LiveOwners,
): Promise<number> {
  const exists = async (vip: string) => live.vips.has(vip) || !!(await deps.kube.getVip(vip));
  let swept = 0;
  for (const r of held) {
    const judged = judgeReservation(subnet, r.owner, live);
    if (judged.verdict !== 'gone') continue;
    const vip = judged.owner.name;
    if (await exists(vip)) continue;
    if (await deps.allocator.release(subnet, r.owner)) deps.subnetChanged?.(subnet, 'released');
    deps.log?.warn({ subnet, vip }, 'released what a gone Vip held');
    swept++;
  }
  for (const port of ports) {
    const judged = judgePort(port, live);
    // pod ports are the pod sweep's (it releases their reservation too)
    if (judged.verdict !== 'gone' || judged.owner.kind !== 'vip') continue;
    const { name } = port;
    if ((await exists(judged.owner.name)) || (name !== judged.owner.name && (await exists(name)))) continue;
    // a pod created since the list whose port has this name keeps it
    const hint = portOwnerHint(name);
    if (live.podPorts.has(name) || (hint && (await deps.kube.getPod(hint.namespace, hint.name)))) continue;
    await deps.nb.deletePort(name);
    deps.log?.warn({ subnet, port: name }, 'removed the NB port of a gone Vip');
    swept++;
  }
  return swept;
}

/** Releases what gone pods still hold in `subnet`; returns how many ports were swept. */
async function sweepGonePods(
  deps: ReconcileDeps,
  subnet: string,
  held: readonly Reservation[],
  live: LiveOwners,
): Promise<number> {
  // A pod missing from `live` may have been re-created since under the same name: re-checked below.
  let swept = 0;
  for (const r of held) {
    const judged = judgeReservation(subnet, r.owner, live);
    if (judged.verdict !== 'gone') continue;
    const port = judged.owner.name;
    const hint = portOwnerHint(port);
    if (!hint || (await deps.kube.getPod(hint.namespace, hint.name))) continue;
    // The pod's own delete path (ports found in NB by external_ids, parents and rules refreshed),
    // then what it cannot find without the pod's last state: this reservation and port.
    await reconcilePod(deps, hint.namespace, hint.name);
    await releaseBinding(deps, port);
    if (await deps.allocator.release(subnet, r.owner)) deps.subnetChanged?.(subnet, 'released');
    await deps.nb.deletePort(port);
    deps.log?.warn({ subnet, port }, 'released what a gone pod held (its delete event was missed)');
    swept++;
  }
  return swept;
}
