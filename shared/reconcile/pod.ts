// Reconciles one pod (SPEC §2, §3.1, §3.3): an address and MAC per NIC from the same allocator as
// the Vips, its logical switch port, the kube-ovn annotations, a Vip binding through
// `ovn.kubernetes.io/vip`, and the parents of the AAP Vips it asks for.

import { podAaps } from '../domain/aap.ts';
import {
  ALLOCATION_ERROR_ANNOTATION,
  IP_RESERVED_LABEL,
  nicAnnotation,
  PRIMARY_PROVIDER,
} from '../domain/annotations.ts';
import { isDomainError, Reason, refusalMessage } from '../domain/errors.ts';
import { podOwner, vipOfPort } from '../domain/ownership.ts';
import { annotationsPatch, desiredNicAnnotations, readPodAnnotations } from '../domain/pod-annotations.ts';
import { type PodNic, podNics } from '../domain/pod-network.ts';
import type { Pod } from '../domain/types.ts';
import { decideVipBinding, keepOrphanBinding, podVipName, portOwnerHint } from '../domain/vip-binding.ts';
import { macAsShown } from '../domain/vip-status.ts';
import type { Outcome } from '../events/outcome.ts';
import type { Allocation } from '../ipam/index.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { forgetDeletedPod, recordNamingPod } from './aap-index.ts';
import { changeParentsOfPod } from './aap-parents.ts';
import type { ReconcileDeps } from './deps.ts';
import { noteAllocated, noteRefused } from './events.ts';
import { ensureSubnetRegistered, subnetPlacements } from './subnet-registration.ts';
import { refreshRulesForPod } from './switch-lb-rule.ts';
import { type EventState, reconcileVip } from './vip.ts';
import { refreshPortSecurityOf } from './vip-ports.ts';

const done: Outcome = { status: 'done' };

/**
 * `observed`: the event's copy of the live pod, standing in for a GET when it is a new pod (see
 * trustedCopy). The pod's own write (its annotations) is guarded by the resourceVersion of what
 * it was decided from. A `done` outcome names the resourceVersion written (`produced`).
 */
export async function reconcilePod(
  deps: ReconcileDeps,
  namespace: string,
  name: string,
  lastKnown?: Pod,
  opts: { observed?: Pod } = {},
): Promise<Outcome> {
  const copy = trustedCopy(opts.observed);
  let pod = copy ?? (await deps.kube.getPod(namespace, name));
  for (let attempt = 1; ; attempt++) {
    try {
      return await reconcilePodFrom(deps, namespace, name, pod, lastKnown ?? opts.observed, {
        read: pod !== copy,
      });
    } catch (err) {
      if (!(isConflict(err) || isNotFound(err)) || attempt >= MAX_PASSES) throw err;
      pod = await deps.kube.getPod(namespace, name);
    }
  }
}

const MAX_PASSES = 4;

/**
 * The event's copy saves a read only for a pod not yet annotated: this pass ends with a write of
 * its annotations guarded by the copy's resourceVersion, so a copy that was stale (the pod changed
 * or is gone) is found out and everything is decided again from a fresh read, which also undoes
 * what the stale pass reserved (a gone pod's cleanup). An annotated pod's copy may be an old
 * redelivery with nothing to write that would find it out, so it is read afresh.
 */
const trustedCopy = (copy: Pod | undefined) =>
  copy && copy.metadata.annotations?.[nicAnnotation(PRIMARY_PROVIDER, 'allocated')] !== 'true'
    ? copy
    : undefined;

/** `read`: `pod` was read from the API server (not the event's copy). */
async function reconcilePodFrom(
  deps: ReconcileDeps,
  namespace: string,
  name: string,
  pod: Pod | undefined,
  lastKnown: Pod | undefined,
  from: { read: boolean },
): Promise<Outcome> {
  if (!pod) {
    await podGone(deps, namespace, name, lastKnown);
    return done;
  }
  const placements = await subnetPlacements(deps);
  const nics = podNics(pod, placements, { keepVmIp: deps.keepVmIp ?? true });
  if (!nics.ok) {
    // No parent now, but recorded all the same: every pod event records what it names (aap-index.ts).
    await recordNamingPod(deps, pod);
    return { status: 'rejected', reason: nics.error.reason, message: nics.error.message };
  }

  const annotations: Record<string, string> = {};
  for (const nic of nics.value) {
    const outcome = await reconcileNic(deps, pod, nic, annotations);
    if (outcome.status === 'rejected')
      await showAllocationError(deps, pod, `${outcome.reason}: ${outcome.message}`);
    if (outcome.status !== 'done') {
      await recordNamingPod(deps, pod);
      return outcome;
    }
  }
  const patch: Record<string, string | null> = annotationsPatch(pod.metadata.annotations, annotations) ?? {};
  if (pod.metadata.annotations?.[ALLOCATION_ERROR_ANNOTATION] !== undefined)
    patch[ALLOCATION_ERROR_ANNOTATION] = null;
  let produced: string | undefined;
  // The pod as this event last wrote or read it (the event's copy only once a write proved it).
  let known: Pod | undefined = from.read ? pod : undefined;
  if (Object.keys(patch).length > 0) {
    const written = await deps.kube.patchMetadata(
      'Pod',
      { namespace, name },
      { annotations: patch },
      { ...(pod.metadata.resourceVersion ? { resourceVersion: pod.metadata.resourceVersion } : {}) },
    );
    produced = written.metadata.resourceVersion;
    known = written as Pod;
  }

  // Before any AAP Vip is read (refreshParentsOf): what makes the AAP index complete (aap-index.ts).
  // Recorded as last written, so a redelivery of this state (a relist) writes nothing to Redis.
  await recordNamingPod(deps, known ?? pod);
  const ports = nics.value.map((n) => n.portName);
  const event: EventState = { pods: known ? [known] : [], refreshed: new Set() };
  // The ports of NICs the pod no longer has may still be parents: they leave with the rest.
  const formerPorts = lastKnown
    ? podNics(lastKnown, placements, { keepVmIp: deps.keepVmIp ?? true })
    : undefined;
  await refreshParentsOf(
    deps,
    { namespace, name },
    known ?? pod,
    [...new Set([...ports, ...(formerPorts?.ok ? formerPorts.value.map((n) => n.portName) : [])])],
    [...podAaps(pod), ...podAaps(lastKnown)],
    event,
  );
  // The Vips' reconciles above refresh the ports whose parents changed, after this pod's write;
  // this covers the rest (the pod's own addresses, a pod relabelled while its Vip's reconcile was
  // elsewhere, a resync).
  await refreshPortSecurityOf(
    deps,
    ports.filter((p) => !event.refreshed.has(p)),
    { pods: event.pods, ...(event.vips ? { vips: event.vips } : {}) },
    event.refreshed,
  );
  await refreshRulesForPod(deps, namespace, pod, lastKnown);
  return produced ? { status: 'done', produced: [produced] } : done;
}

async function showAllocationError(deps: ReconcileDeps, pod: Pod, text: string): Promise<void> {
  if (pod.metadata.annotations?.[ALLOCATION_ERROR_ANNOTATION] === text) return;
  await deps.kube.patchMetadata(
    'Pod',
    { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name },
    { annotations: { [ALLOCATION_ERROR_ANNOTATION]: text } },
  );
}

async function reconcileNic(
  deps: ReconcileDeps,
  pod: Pod,
  nic: PodNic,
  annotations: Record<string, string>,
): Promise<Outcome> {
  const ns = pod.metadata.namespace ?? 'default';
  const subnet = await ensureSubnetRegistered(deps, nic.subnet);
  if (subnet.status !== 'ready') {
    return subnet.status === 'retry'
      ? { status: 'retry', reason: subnet.failure.reason }
      : { status: 'rejected', ...subnet.failure };
  }

  let addr: { v4?: string; v6?: string; mac: string };
  const vipName = nic.primary ? podVipName(pod) : undefined;
  if (vipName) {
    const vip = await deps.kube.getVip(vipName);
    const d = decideVipBinding({ podPort: nic.portName, vipName, vip, podSubnet: nic.subnet });
    if (d.action === 'wait') return { status: 'retry', reason: d.reason };
    if (d.action !== 'bind') return { status: 'rejected', reason: d.reason, message: d.message };
    const holder = vip!.metadata.labels?.[IP_RESERVED_LABEL] ?? '';
    if (holder !== nic.portName && !(await deps.kube.claimVip(vipName, holder, nic.portName))) {
      // Someone else took it between our read and our write: decide again on fresh state.
      return { status: 'retry', reason: 'VipClaimRace' };
    }
    // The address never leaves the Vip's reservation (SPEC §3.3): the pod only borrows it.
    addr = { ...(d.v4 ? { v4: d.v4 } : {}), ...(d.v6 ? { v6: d.v6 } : {}), mac: d.mac ?? '' };
  } else {
    // kube-ovn lets a user fix a pod's address by annotating it before it is allocated. An
    // `allocated` pod asks for what its annotations show too: with its record in Redis that is a
    // no-op, and without one (a cluster taken over from kube-ovn, or Redis lost) the running pod
    // keeps the addresses its interface already has instead of being given new ones.
    const asked = readPodAnnotations(pod, nic.provider);
    const fixed = { v4: asked.v4, v6: asked.v6, mac: asked.mac };
    try {
      const owner = podOwner(nic.portName);
      let a: Allocation;
      try {
        a = await deps.allocator.allocate({ subnet: nic.subnet, owner, ...fixed });
      } catch (err) {
        // The port already holds other addresses: the annotations (edited by hand, `allocated`
        // dropped) ask for a change the record refuses. The record wins; they are rewritten from it.
        // An allocated pod whose addresses someone else holds now gets fresh ones, as before.
        if (!(isDomainError(err) && (err.reason === Reason.ImmutableField || asked.allocated))) throw err;
        a = await deps.allocator.allocate({ subnet: nic.subnet, owner });
      }
      if (a.created) deps.subnetChanged?.(nic.subnet);
      if (a.created) noteAllocated(deps, 'Pod', pod, nic.subnet, a);
      // Spelled as the annotation has it when only the letter case differs (kube-ovn writes lower
      // case): taking a cluster over rewrites no pod and no port for case alone.
      addr = { ...a, mac: macAsShown(a.mac, asked.mac) };
    } catch (err) {
      if (!isDomainError(err)) throw err;
      noteRefused(deps, 'Pod', pod, { reason: err.reason, message: refusalMessage(err) }, nic.subnet);
      return {
        status: 'rejected',
        reason: err.reason,
        message: `pod ${ns}/${pod.metadata.name}: ${refusalMessage(err)}`,
      };
    }
  }

  await deps.nb.ensurePodPort({
    switchName: nic.subnet,
    name: nic.portName,
    mac: addr.mac,
    ips: [addr.v4, addr.v6].filter((a): a is string => !!a),
    pod: pod.metadata.name,
    namespace: ns,
  });
  Object.assign(
    annotations,
    desiredNicAnnotations(nic.provider, {
      subnet: nic.subnet,
      mac: addr.mac,
      cidrBlock: subnet.info.cidrBlock,
      gateway: subnet.info.gateway,
      ...(addr.v4 ? { v4: addr.v4 } : {}),
      ...(addr.v6 ? { v6: addr.v6 } : {}),
    }),
  );
  return done;
}

/**
 * A pod is gone: release what each of its ports held and delete the ports. A Vip binding survives
 * for a StatefulSet or VM that will bring the same port back (SPEC §3.3). The ports are found in
 * NB by the pod's external_ids, so a reference-mode delete (no last state) works too.
 */
async function podGone(deps: ReconcileDeps, namespace: string, name: string, lastKnown?: Pod): Promise<void> {
  const ports = new Map<string, string | undefined>();
  for (const p of await deps.nb.findPorts({ pod: `${namespace}/${name}` })) ports.set(p.name, p.switchName);
  if (lastKnown) {
    const nics = podNics(lastKnown, await subnetPlacements(deps), { keepVmIp: deps.keepVmIp ?? true });
    if (nics.ok) for (const n of nics.value) ports.set(n.portName, n.subnet);
  }
  for (const [port, subnet] of ports) {
    await releaseBinding(deps, port);
    if (subnet) {
      try {
        if (await deps.allocator.release(subnet, podOwner(port))) deps.subnetChanged?.(subnet, 'released');
      } catch (err) {
        if (!isDomainError(err)) throw err;
      }
    }
    await deps.nb.deletePort(port);
  }
  await forgetDeletedPod(deps, lastKnown);
  await refreshParentsOf(deps, { namespace, name }, undefined, [...ports.keys()], podAaps(lastKnown));
  await refreshRulesForPod(deps, namespace, undefined, lastKnown);
}

/** Frees the Vip a gone port was bound to, unless its StatefulSet or VM will bring it back. */
export async function releaseBinding(deps: ReconcileDeps, port: string): Promise<void> {
  const bound = await deps.kube.listVips({ labelSelector: `${IP_RESERVED_LABEL}=${port}` });
  if (bound.length === 0) return;
  const hint = portOwnerHint(port);
  const owners = hint
    ? {
        statefulSet: hint.statefulSet
          ? await deps.kube.getStatefulSet(hint.namespace, hint.statefulSet.name)
          : undefined,
        vm: await deps.kube.getVirtualMachine(hint.namespace, hint.vmName),
      }
    : {};
  if (keepOrphanBinding(port, stripUndefined(owners), { keepVmIp: deps.keepVmIp ?? true })) return;
  for (const vip of bound) await deps.kube.claimVip(vip.metadata.name, port, '');
}

/**
 * Brings the AAP Vips a pod's ports may be (or may have been) a parent of in line with this pod:
 * its membership alone, decided from the pod (aap-parents.ts), or the Vip's full reconcile when
 * that cannot decide. `pod`: as this event last wrote or read it, undefined when gone.
 */
async function refreshParentsOf(
  deps: ReconcileDeps,
  ref: { namespace: string; name: string },
  pod: Pod | undefined,
  ports: string[],
  asked: string[],
  event?: EventState,
): Promise<void> {
  const names = new Set(asked);
  for (const port of ports) {
    for (const vport of await deps.nb.virtualPortsWithParent(port)) {
      names.add(vipOfPort(vport));
    }
  }
  for (const vip of [...names].sort()) {
    if (await changeParentsOfPod(deps, vip, ref, ports, pod, event)) continue;
    const outcome = await reconcileVip(deps, vip, undefined, {
      onlyIfExists: true,
      ...(event ? { event } : {}),
    });
    if (outcome.status === 'retry')
      deps.log?.warn({ vip, reason: outcome.reason }, 'parent refresh deferred');
  }
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
