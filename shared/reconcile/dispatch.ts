// Routes a decoded event to the reconciler of its kind. Handlers are level-triggered: a Vip or pod
// event's copy of the object stands in for a GET (their writes are guarded by its
// resourceVersion); other kinds are read afresh, and a delete's copy is the last known state of
// an object that is already gone.
// A failure that escapes a reconciler is classified (see failure.ts): an outage becomes `retry`
// (the sender backs off), a DomainError a Ready=False condition and a final `rejected`, and
// anything else `failed` (HTTP 500), logged with its stack once, and after `internalFailureLimit`
// tries in a row reported: a dead-letter log line and a Ready=False InternalError condition.
import type { Condition, Pod, SwitchLBRule, Vip } from '../domain/types.ts';
import type { Dispatch, Outcome } from '../events/outcome.ts';
import type { ResourceEvent } from '../events/types.ts';
import { isNotFound } from '../kube/errors.ts';
import type { ReconcileDeps } from './deps.ts';
import { coalescedLists, scopedToEvent } from './event-scope.ts';
import { classifyFailure, failedStatusPatch, hasConditions } from './failure.ts';
import { reconcilePod } from './pod.ts';
import { reconcileSubnet } from './subnet.ts';
import { reconcileSwitchLBRule } from './switch-lb-rule.ts';
import { reconcileVip } from './vip.ts';
import { reconcileStatefulSet, reconcileVirtualMachine } from './workload.ts';

export type Route = (deps: ReconcileDeps, event: ResourceEvent) => Promise<Outcome>;

/** pino's shape; `error` falls back to `warn` for loggers without it. */
interface DispatchLogger {
  debug(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

export interface DispatchOptions {
  /** Replaces the route table (tests inject reconcilers that fail on purpose). */
  route?: Route;
  /**
   * Internal failures of one object in a row before it is reported (dead-letter line and
   * condition). The relay parks a key after the same number of HTTP 500 answers by default.
   */
  internalFailureLimit?: number;
  /** Objects whose internal failures are counted at most; the oldest are forgotten first. */
  maxTrackedObjects?: number;
  log?: DispatchLogger;
  /** This replica's name in the one line per event (REPLICA_NAME, else the pod's HOSTNAME). */
  replica?: string;
  /** Told of every handled event (shared/metrics/functions.ts counts and times them). */
  observe?: (kind: string, outcome: Outcome['status'], reason: string, seconds: number) => void;
}

export const DEFAULT_INTERNAL_FAILURE_LIMIT = 5;

interface FailureRecord {
  count: number;
  firstAt: string;
}

export function createDispatch(deps: ReconcileDeps, opts: DispatchOptions = {}): Dispatch {
  const route = opts.route ?? routeEvent;
  const limit = opts.internalFailureLimit ?? DEFAULT_INTERNAL_FAILURE_LIMIT;
  const maxTracked = opts.maxTrackedObjects ?? 10_000;
  const log: DispatchLogger | undefined = opts.log ?? deps.log;
  const logError = (obj: object, msg: string) => (log?.error ? log.error(obj, msg) : log?.warn(obj, msg));
  // Consecutive internal failures per object, in this process only: the relay routes an object to
  // the same replica, so the count is right in the common case, and a restart merely starts over.
  const failures = new Map<string, FailureRecord>();
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const shared = coalescedLists(deps);

  return async (event) => {
    const key = objectKey(event);
    const start = performance.now();
    let outcome: Outcome;
    try {
      outcome = await route(scopedToEvent(shared), event);
    } catch (err) {
      outcome = await onFailure(event, key, err);
    }
    if (outcome.status === 'done' || outcome.status === 'rejected') failures.delete(key);
    const reason = outcome.status === 'done' ? '' : outcome.reason;
    const seconds = (performance.now() - start) / 1000;
    opts.observe?.(event.ref.kind, outcome.status, reason, seconds);
    // One line per event, so an operator can follow which replica handled which object and how
    // (LOG_LEVEL=warn turns these off and keeps the failures).
    log?.info?.(
      {
        key,
        ...(opts.replica ? { replica: opts.replica } : {}),
        action: event.action,
        outcome: outcome.status,
        ...(reason ? { reason } : {}),
        durationMs: Math.round(seconds * 10_000) / 10,
      },
      'event handled',
    );
    return outcome;
  };

  async function onFailure(event: ResourceEvent, key: string, err: unknown): Promise<Outcome> {
    const what = describe(event);
    const failure = classifyFailure(err);
    switch (failure.class) {
      case 'transient':
        log?.warn({ ...what, reason: failure.reason, err: String(err) }, 'reconcile failed; will retry');
        return { status: 'retry', reason: failure.reason };
      case 'domain':
        log?.warn({ ...what, reason: failure.reason, err: failure.message }, 'object refused by the handler');
        await reportOnObject(event, failure);
        return { status: 'rejected', reason: failure.reason, message: failure.message };
      case 'internal': {
        const record = failures.get(key) ?? { count: 0, firstAt: now() };
        record.count++;
        failures.delete(key); // re-insert: the Map's order is the forgetting order
        failures.set(key, record);
        while (failures.size > maxTracked) failures.delete(failures.keys().next().value!);
        if (record.count === 1) {
          // Once per object and run of failures, with the stack: the bug is in it.
          logError(
            { ...what, err: err instanceof Error ? (err.stack ?? String(err)) : String(err) },
            'reconcile failed with an unexpected error',
          );
        } else {
          log?.debug({ ...what, attempt: record.count, err: failure.message }, 'reconcile failed again');
        }
        if (record.count === limit) {
          logError(
            {
              ...what,
              attempts: record.count,
              since: record.firstAt,
              err: failure.message,
              deadLetter: true,
            },
            'dead letter: reconcile keeps failing with an unexpected error; reported on the object',
          );
          await reportOnObject(event, {
            reason: failure.reason,
            message: `internal error after ${record.count} tries: ${failure.message}`,
          });
        }
        return { status: 'failed', reason: failure.reason, message: failure.message };
      }
    }
  }

  /** Ready=False on the object, where its kind has conditions and it still exists. Never throws. */
  async function reportOnObject(event: ResourceEvent, failure: { reason: string; message: string }) {
    const { kind, name } = event.ref;
    if (event.action === 'delete' || !hasConditions(kind)) return;
    try {
      const current =
        kind === 'Vip'
          ? await deps.kube.getVip(name)
          : kind === 'Subnet'
            ? await deps.kube.getSubnet(name)
            : await deps.kube.getSwitchLBRule(name);
      if (!current) return;
      const status = (current as { status?: { conditions?: Condition[] } }).status;
      const shown = status?.conditions?.find((c) => c.type === 'Ready');
      if (shown?.status === 'False' && shown.reason === failure.reason && shown.message === failure.message)
        return;
      const patch = failedStatusPatch(kind, status, failure, now(), current.metadata.generation);
      // Guarded: a newer state of the object will get its own reconcile, and its own verdict.
      await deps.kube.patchStatus(kind, name, patch, {
        ...(current.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      });
    } catch (err) {
      if (isNotFound(err)) return;
      log?.warn({ ...describe(event), err: String(err) }, 'could not write the failure condition');
    }
  }
}

const objectKey = (event: ResourceEvent) =>
  `${event.ref.kind}/${event.ref.namespace ?? ''}/${event.ref.name}`;

/** What a log line names: kind/namespace/name and the resourceVersion of the event's copy. */
function describe(event: ResourceEvent) {
  const rv = (event.object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
    ?.resourceVersion;
  return {
    kind: event.ref.kind,
    ...(event.ref.namespace ? { namespace: event.ref.namespace } : {}),
    name: event.ref.name,
    ...(rv ? { resourceVersion: rv } : {}),
    action: event.action,
  };
}

/** Kinds that live in a namespace: an event of one that names none cannot come from Kubernetes. */
const NAMESPACED = new Set(['Pod', 'StatefulSet', 'VirtualMachine']);

function routeEvent(deps: ReconcileDeps, event: ResourceEvent): Promise<Outcome> {
  const { kind, name } = event.ref;
  if (NAMESPACED.has(kind) && !event.ref.namespace) {
    // Defaulting it would pair one namespace with a copy that shows another (a port `<pod>.`).
    return Promise.resolve({
      status: 'rejected',
      reason: 'MalformedEvent',
      message: `a ${kind} event must name the object's namespace (metadata.namespace, or data.namespace in Reference mode)`,
    });
  }
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
    case 'StatefulSet':
    case 'VirtualMachine':
      // Beside kube-ovn-controller, pod addresses (and their keep rules) are kube-ovn's.
      if (deps.besideKubeOvn) return Promise.resolve({ status: 'done' });
      if (kind === 'StatefulSet') return reconcileStatefulSet(deps, namespace, name);
      if (kind === 'VirtualMachine') return reconcileVirtualMachine(deps, namespace, name);
      return reconcilePod(deps, namespace, name, last as Pod | undefined, {
        ...(event.action !== 'delete' && event.object ? { observed: event.object as Pod } : {}),
      });
    case 'SwitchLBRule':
      return reconcileSwitchLBRule(deps, name, last as SwitchLBRule | undefined);
    default:
      return Promise.resolve({
        status: 'rejected',
        reason: 'UnsupportedKind',
        message: `events of kind ${kind} are not handled; send Subnet, Vip, SwitchLBRule, Pod, StatefulSet or VirtualMachine`,
      });
  }
}
