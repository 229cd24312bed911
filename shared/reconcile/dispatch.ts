// Routes a decoded event to the reconciler of its kind. Handlers are level-triggered: a Vip or pod
// event's copy of the object stands in for a GET (their writes are guarded by its
// resourceVersion); other kinds are read afresh, and a delete's copy is the last known state of
// an object that is already gone. Failures of dependencies become `retry`, so the sender backs off.
import type { Pod, SwitchLBRule, Vip } from '../domain/types.ts';
import type { Dispatch, Outcome } from '../events/outcome.ts';
import type { ResourceEvent } from '../events/types.ts';
import { scopedToEvent } from './event-scope.ts';
import { reconcilePod } from './pod.ts';
import type { ReconcileDeps } from './ports.ts';
import { reconcileSubnet } from './subnet.ts';
import { reconcileSwitchLBRule } from './switch-lb-rule.ts';
import { reconcileVip } from './vip.ts';
import { reconcileStatefulSet, reconcileVirtualMachine } from './workload.ts';

export function createDispatch(deps: ReconcileDeps): Dispatch {
  return async (event) => {
    try {
      return await route(scopedToEvent(deps), event);
    } catch (err) {
      // Redis, OVSDB or the API server failed or timed out: nothing was half-decided (each write
      // is idempotent), so the whole event can simply run again.
      deps.log?.warn(
        { err: String(err), kind: event.ref.kind, name: event.ref.name },
        'reconcile failed; will retry',
      );
      return { status: 'retry', reason: 'DependencyUnavailable' };
    }
  };
}

function route(deps: ReconcileDeps, event: ResourceEvent): Promise<Outcome> {
  const { kind, name } = event.ref;
  const namespace = event.ref.namespace ?? 'default';
  const last = event.action === 'delete' ? event.object : undefined;
  switch (kind) {
    case 'Vip':
      return reconcileVip(deps, name, last as Vip | undefined, {
        ...(event.action !== 'delete' && event.object ? { observed: event.object as Vip } : {}),
      });
    case 'Subnet':
      return reconcileSubnet(deps, name);
    case 'Pod':
      return reconcilePod(deps, namespace, name, last as Pod | undefined, {
        ...(event.action !== 'delete' && event.object ? { observed: event.object as Pod } : {}),
      });
    case 'SwitchLBRule':
      return reconcileSwitchLBRule(deps, name, last as SwitchLBRule | undefined);
    case 'StatefulSet':
      return reconcileStatefulSet(deps, namespace, name);
    case 'VirtualMachine':
      return reconcileVirtualMachine(deps, namespace, name);
    default:
      return Promise.resolve({
        status: 'rejected',
        reason: 'UnsupportedKind',
        message: `events of kind ${kind} are not handled; send Subnet, Vip, SwitchLBRule, Pod, StatefulSet or VirtualMachine`,
      });
  }
}
