// The event vocabulary shared by the relay (sender) and the functions (receiver). It is Knative
// Eventing's ApiServerSource format, so a Knative cluster can feed the functions without the relay.

export const EventType = {
  ResourceAdd: 'dev.knative.apiserver.resource.add',
  ResourceUpdate: 'dev.knative.apiserver.resource.update',
  ResourceDelete: 'dev.knative.apiserver.resource.delete',
  RefAdd: 'dev.knative.apiserver.ref.add',
  RefUpdate: 'dev.knative.apiserver.ref.update',
  RefDelete: 'dev.knative.apiserver.ref.delete',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export const Action = { Add: 'add', Update: 'update', Delete: 'delete' } as const;
export type Action = (typeof Action)[keyof typeof Action];

export const EventMode = { Resource: 'resource', Reference: 'reference' } as const;
export type EventMode = (typeof EventMode)[keyof typeof EventMode];

/** Which object an event is about: enough to GET it again (Reference mode carries only this). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** A decoded event, whichever mode and HTTP encoding it arrived in. */
export interface ResourceEvent {
  action: Action;
  mode: EventMode;
  ref: ObjectRef;
  /** The whole object in Resource mode (its last known state on delete); absent in Reference mode. */
  object?: unknown;
  id: string;
  /** RFC 3339 time the event was made; empty when the sender set none. */
  time: string;
  /** The API server URL. */
  source: string;
  /** The object path, e.g. `/apis/kubeovn.io/v1/vips/vip-aap`. */
  subject?: string;
}

/** The smallest shape of a Kubernetes object the event format needs. */
export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export const eventTypeOf = (mode: EventMode, action: Action): EventType =>
  `dev.knative.apiserver.${mode === 'resource' ? 'resource' : 'ref'}.${action}` as EventType;

const TYPE_PATTERN = /^dev\.knative\.apiserver\.(resource|ref)\.(add|update|delete)$/;

/** Splits a type into mode and action; undefined for a type this system does not handle. */
export function parseEventType(type: string): { mode: EventMode; action: Action } | undefined {
  const m = TYPE_PATTERN.exec(type);
  if (!m) return undefined;
  return { mode: m[1] === 'resource' ? 'resource' : 'reference', action: m[2] as Action };
}
