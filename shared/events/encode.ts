// Builds the HTTP request for events: binary mode by default (as Knative sends it), structured mode
// for senders that prefer one JSON document, and batch mode (a JSON array of structured events) for
// the relay under load. The attributes are mapped by hand: the CloudEvents SDK validated every event
// on construction, which cost more than the rest of the encoding (the tests still use the SDK to
// prove the wire format).
import { objectPath } from './subject.ts';
import { type Action, eventTypeOf, type KubeObjectLike, type ObjectRef } from './types.ts';

export type HttpEncoding = 'binary' | 'structured';

export const BINARY_CONTENT_TYPE = 'application/json';
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';

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

/** A CloudEvent's context attributes as they go on the wire (extensions included). */
export type EventAttributes = Record<string, string>;

/** One event, before it is laid out as binary, structured or batch. */
export interface OutgoingEvent {
  attributes: EventAttributes;
  /** JSON data (datacontenttype application/json). */
  data: unknown;
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

function outgoing(ref: ObjectRef, data: unknown, mode: 'resource' | 'reference', opts: EncodeOptions) {
  const attributes: EventAttributes = {
    specversion: '1.0',
    id: opts.id ?? crypto.randomUUID(),
    time: opts.time ?? new Date().toISOString(),
    type: eventTypeOf(mode, opts.action),
    source: opts.source,
    subject: objectPath(ref, opts.plural),
    datacontenttype: 'application/json',
    kind: ref.kind,
    apiversion: ref.apiVersion,
    name: ref.name,
  };
  if (ref.namespace) attributes.namespace = ref.namespace;
  return { attributes, data };
}

/** Resource mode: `data` is the whole object (its last known state on delete). */
export const resourceEvent = (object: KubeObjectLike, opts: EncodeOptions): OutgoingEvent =>
  outgoing(refOf(object), object, 'resource', opts);

/** Reference mode: `data` is `{apiVersion, kind, name, namespace}`; the receiver GETs the object. */
export const referenceEvent = (ref: ObjectRef, opts: EncodeOptions): OutgoingEvent =>
  outgoing(ref, { ...ref }, 'reference', opts);

// HTTP binding 3.1.3.2: space, '"', '%' and anything outside printable ASCII are percent-encoded.
const NEEDS_ESCAPE = /[^\x21-\x7e]|["%]/;
const headerValue = (v: string) =>
  NEEDS_ESCAPE.test(v)
    ? [...new TextEncoder().encode(v)]
        .map((b) =>
          b < 0x21 || b > 0x7e || b === 0x22 || b === 0x25
            ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
            : String.fromCharCode(b),
        )
        .join('')
    : v;

export function toBinary(event: OutgoingEvent): EncodedEvent {
  const headers: Record<string, string> = {
    'content-type': event.attributes.datacontenttype ?? BINARY_CONTENT_TYPE,
  };
  for (const [k, v] of Object.entries(event.attributes)) {
    if (k !== 'datacontenttype') headers[`ce-${k}`] = headerValue(v);
  }
  return { headers, body: JSON.stringify(event.data) };
}

/** One structured-mode JSON document (also an element of a batch). */
export const structuredJson = (event: OutgoingEvent): string =>
  JSON.stringify({ ...event.attributes, data: event.data });

export const toStructured = (event: OutgoingEvent): EncodedEvent => ({
  headers: { 'content-type': STRUCTURED_CONTENT_TYPE },
  body: structuredJson(event),
});

/** Batch mode: a JSON array of structured events, from their `structuredJson` texts. */
export const toBatch = (structured: readonly string[]): EncodedEvent => ({
  headers: { 'content-type': BATCH_CONTENT_TYPE },
  body: `[${structured.join(',')}]`,
});

const encodeAs = (event: OutgoingEvent, encoding: HttpEncoding | undefined) =>
  encoding === 'structured' ? toStructured(event) : toBinary(event);

export function encodeResourceEvent(object: KubeObjectLike, opts: EncodeOptions): EncodedEvent {
  return encodeAs(resourceEvent(object, opts), opts.encoding);
}

export function encodeReferenceEvent(ref: ObjectRef, opts: EncodeOptions): EncodedEvent {
  return encodeAs(referenceEvent(ref, opts), opts.encoding);
}
