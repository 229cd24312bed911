// Builds the HTTP request for one event with the CloudEvents SDK (binary mode by default, as
// Knative sends it; structured mode for senders that prefer one JSON document).
import { CloudEvent, HTTP } from 'cloudevents';
import { objectPath } from './subject.ts';
import { type Action, eventTypeOf, type KubeObjectLike, type ObjectRef } from './types.ts';

export type HttpEncoding = 'binary' | 'structured';

export interface EncodedEvent {
  headers: Record<string, string>;
  body: string;
}

export interface EncodeOptions {
  action: Action;
  /** The API server URL, the event's `source`. */
  source: string;
  /** The REST plural of the object's kind; derived from the kind when absent. */
  plural?: string;
  encoding?: HttpEncoding;
  id?: string;
  time?: string;
}

/** The reference of a whole object; throws when the object lacks apiVersion, kind or name. */
export function refOf(object: KubeObjectLike): ObjectRef {
  const name = object.metadata?.name;
  if (!object.apiVersion || !object.kind || !name) {
    throw new TypeError('a Kubernetes object needs apiVersion, kind and metadata.name to become an event');
  }
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name };
  if (object.metadata?.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

function encode(ref: ObjectRef, data: unknown, mode: 'resource' | 'reference', opts: EncodeOptions) {
  const event = new CloudEvent<unknown>({
    type: eventTypeOf(mode, opts.action),
    source: opts.source,
    subject: objectPath(ref, opts.plural),
    datacontenttype: 'application/json',
    data,
    kind: ref.kind,
    apiversion: ref.apiVersion,
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(opts.id ? { id: opts.id } : {}),
    ...(opts.time ? { time: opts.time } : {}),
  });
  const message = opts.encoding === 'structured' ? HTTP.structured(event) : HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
  return { headers, body };
}

/** Resource mode: `data` is the whole object (its last known state on delete). */
export function encodeResourceEvent(object: KubeObjectLike, opts: EncodeOptions): EncodedEvent {
  return encode(refOf(object), object, 'resource', opts);
}

/** Reference mode: `data` is `{apiVersion, kind, name, namespace}`; the receiver GETs the object. */
export function encodeReferenceEvent(ref: ObjectRef, opts: EncodeOptions): EncodedEvent {
  return encode(ref, { ...ref }, 'reference', opts);
}
