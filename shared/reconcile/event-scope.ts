// One event's view of the cluster-wide lists that rarely change (Subnets, SwitchLBRules, and the
// allocator's registered subnet ranges). A pod event asks for the Subnets up to five times (its
// NICs, each AAP Vip's parents, each port's security) and for the rules once more; within one
// event one answer is enough. Nothing is kept across events: a handler stays stateless and sees
// each Subnet change on its next event. The wrappers delegate to the real clients through their
// prototype chain, so every other method is theirs unchanged.
import { coalescedRead } from './coalesced-read.ts';
import type { ReconcileDeps } from './deps.ts';

/**
 * The same lists across the events this process handles at once: concurrent calls share one
 * request, never one sent before they asked (see coalescedRead), so no event sees an older list
 * than a request of its own would have shown. In a relist every pod event asks for both lists:
 * a batch of them then costs about two requests instead of two per event. Made once per process
 * (createDispatch); scopedToEvent goes on top per event.
 */
export function coalescedLists(deps: ReconcileDeps): ReconcileDeps {
  const kube = deps.kube;
  // Every Vip and every pod (no selector): a relist's Subnet events each ask for them (requeue of
  // the Vips waiting on the subnet, the orphan sweep), 300 MB at 213,000 objects, all at once.
  const allVips = coalescedRead(() => kube.listVips());
  const allPods = coalescedRead(() => kube.listPods({}));
  return {
    ...deps,
    kube: Object.assign(Object.create(kube) as typeof kube, {
      listSubnets: coalescedRead(() => kube.listSubnets()),
      listSwitchLBRules: coalescedRead(() => kube.listSwitchLBRules()),
      listVips: (o?: { labelSelector?: string }) => (o?.labelSelector ? kube.listVips(o) : allVips()),
      listPods: (o: { namespace?: string; labelSelector?: string }) =>
        o.namespace || o.labelSelector ? kube.listPods(o) : allPods(),
    }),
  };
}

export function scopedToEvent(deps: ReconcileDeps): ReconcileDeps {
  const kube = deps.kube;
  let subnets: ReturnType<typeof kube.listSubnets> | undefined;
  let rules: ReturnType<typeof kube.listSwitchLBRules> | undefined;
  const forget = <T>(p: Promise<T>, clear: () => void) => {
    // A failed read is not remembered: the next caller in this event tries again.
    p.catch(clear);
    return p;
  };
  // A subnet's range as the allocator registered it: a pod event asks once per NIC and once per
  // AAP Vip it refreshes. Only a registered one is kept (registering happens at most once).
  const registered = new Map<string, ReturnType<typeof deps.allocator.getSubnet>>();
  const allocator = deps.allocator;
  return {
    ...deps,
    allocator: Object.assign(Object.create(allocator) as typeof allocator, {
      getSubnet: (name: string) => {
        let known = registered.get(name);
        if (!known) {
          known = allocator.getSubnet(name);
          registered.set(name, known);
          known.then(
            (info) => info === undefined && registered.delete(name),
            () => registered.delete(name),
          );
        }
        return known;
      },
    }),
    kube: Object.assign(Object.create(kube) as typeof kube, {
      listSubnets: () => {
        subnets ??= forget(kube.listSubnets(), () => {
          subnets = undefined;
        });
        return subnets;
      },
      listSwitchLBRules: () => {
        rules ??= forget(kube.listSwitchLBRules(), () => {
          rules = undefined;
        });
        return rules;
      },
    }),
  };
}
