// Turns an HTTP request (binary, structured or batched CloudEvents, Resource or Reference mode, from
// the relay or from a Knative ApiServerSource) into ResourceEvents, or an EventError saying what is
// wrong. The HTTP binding is read by hand (binary mode is a plain `ce-*` header mapping) and the
// attributes are checked with zod: the SDK's parser cost more per event than the rest of decoding.
import { z } from 'zod';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from '../json-depth.ts';
import { EventError } from './errors.ts';
import { type ObjectRef, parseEventType, type ResourceEvent } from './types.ts';

const attributesSchema = z.looseObject({
  specversion: z.literal('1.0', { error: 'specversion must be 1.0' }),
  id: z.string().min(1, 'id is required'),
  source: z.string().min(1, 'source is required'),
  type: z.string().min(1, 'type is required'),
  subject: z.string().optional(),
  time: z.string().optional(),
});

const nonEmpty = (what: string) =>
  z.string({ error: `${what} must be a string` }).min(1, `${what} is required`);

// Every kind handled here is named by a DNS-1123 subdomain and namespaced by a DNS-1123 label, as
// the API server enforces. A name outside that (e.g. `../x`) cannot come from Kubernetes, and
// would become a different path when the handler GETs it.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const objectName = (what: string) =>
  nonEmpty(what)
    .max(253, `${what} is longer than 253 characters`)
    .regex(DNS_SUBDOMAIN, `${what} is not a Kubernetes object name (lower-case DNS-1123 subdomain)`);
const namespaceName = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .max(63, `${what} is longer than 63 characters`)
    .refine((ns) => ns === '' || DNS_LABEL.test(ns), `${what} is not a Kubernetes namespace (DNS-1123 label)`)
    .optional();

const kubeObjectSchema = z.looseObject({
  apiVersion: nonEmpty('data.apiVersion'),
  kind: nonEmpty('data.kind'),
  metadata: z.looseObject({
    name: objectName('data.metadata.name'),
    namespace: namespaceName('data.metadata.namespace'),
  }),
});

const referenceSchema = z.looseObject({
  apiVersion: nonEmpty('data.apiVersion'),
  kind: nonEmpty('data.kind'),
  name: objectName('data.name'),
  namespace: namespaceName('data.namespace'),
});

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/** Reads headers by lower-case name, whatever the bag; a record is scanned at most once. */
function headerReader(headers: HeaderBag): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  let lower: Record<string, string | string[] | undefined> | undefined;
  return (name) => {
    let v = headers[name];
    if (v === undefined) {
      lower ??= Object.fromEntries(Object.entries(headers).map(([k, x]) => [k.toLowerCase(), x]));
      v = lower[name];
    }
    return Array.isArray(v) ? v.join(', ') : v;
  };
}

/** The media type of a content-type header, lower case, without parameters. */
export function mediaTypeOf(headers: HeaderBag): string {
  const raw =
    headers instanceof Headers
      ? headers.get('content-type')
      : (headers['content-type'] ??
        Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1]);
  const text = Array.isArray(raw) ? raw[0] : raw;
  return (text ?? '').split(';')[0]!.trim().toLowerCase();
}

export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';
const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';

/** True when the request carries a CloudEvents batch (decode it with `decodeBatch`). */
export const isBatch = (headers: HeaderBag): boolean => mediaTypeOf(headers) === BATCH_MEDIA_TYPE;

const issuesText = (error: z.ZodError) =>
  error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

/** JSON.parse, refusing a text that nests deeper than MAX_JSON_DEPTH before parsing it. */
function parseBounded(text: string, notJson: string, what: string): unknown {
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new EventError(
      'NestingTooDeep',
      `the ${what} nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new EventError('MalformedEvent', notJson);
  }
}

function dataOf(raw: Record<string, unknown>): unknown {
  let data = raw.data;
  if (data === undefined && typeof raw.data_base64 === 'string') {
    let binary: string;
    try {
      binary = atob(raw.data_base64);
    } catch {
      throw new EventError('MalformedEvent', 'event data_base64 is not base64');
    }
    data = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  }
  if (typeof data === 'string') return parseBounded(data, 'event data is not JSON', 'event data');
  return data;
}

const ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time'] as const;

// Header values are percent-encoded by senders that follow the HTTP binding strictly (3.1.3.2).
const headerValue = (v: string) => {
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

function fromAttributes(raw: Record<string, unknown>): ResourceEvent {
  const attrs = attributesSchema.safeParse(raw);
  if (!attrs.success)
    throw new EventError('MalformedEvent', `bad CloudEvent attributes: ${issuesText(attrs.error)}`);
  const parsedType = parseEventType(attrs.data.type);
  if (!parsedType) {
    throw new EventError(
      'UnsupportedEventType',
      `event type ${attrs.data.type} is not an ApiServerSource type`,
    );
  }
  const data = dataOf(raw);
  const common = {
    action: parsedType.action,
    mode: parsedType.mode,
    id: attrs.data.id,
    time: attrs.data.time ?? '',
    source: attrs.data.source,
    ...(attrs.data.subject ? { subject: attrs.data.subject } : {}),
  };
  if (parsedType.mode === 'resource') {
    const obj = kubeObjectSchema.safeParse(data);
    if (!obj.success)
      throw new EventError('MalformedEvent', `bad Resource-mode data: ${issuesText(obj.error)}`);
    const ref: ObjectRef = {
      apiVersion: obj.data.apiVersion,
      kind: obj.data.kind,
      name: obj.data.metadata.name,
    };
    if (obj.data.metadata.namespace) ref.namespace = obj.data.metadata.namespace;
    return { ...common, ref, object: obj.data };
  }
  const r = referenceSchema.safeParse(data);
  if (!r.success) throw new EventError('MalformedEvent', `bad Reference-mode data: ${issuesText(r.error)}`);
  const ref: ObjectRef = { apiVersion: r.data.apiVersion, kind: r.data.kind, name: r.data.name };
  if (r.data.namespace) ref.namespace = r.data.namespace;
  return { ...common, ref };
}

/** One structured-mode event, already parsed from JSON (a request body or a batch element). */
export function decodeStructured(raw: unknown): ResourceEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EventError('MalformedEvent', 'not a CloudEvent: a structured event must be a JSON object');
  }
  return fromAttributes(raw as Record<string, unknown>);
}

const parseJson = (body: string, what: string): unknown =>
  parseBounded(body, `not a CloudEvent: the ${what} is not JSON`, what);

/** A single event in binary or structured mode. */
export function decodeEvent(headers: HeaderBag, body: string): ResourceEvent {
  const mediaType = mediaTypeOf(headers);
  if (mediaType === BATCH_MEDIA_TYPE)
    throw new EventError('MalformedEvent', 'batched events are not accepted');
  if (mediaType === STRUCTURED_MEDIA_TYPE) return decodeStructured(parseJson(body, 'structured event'));
  const header = headerReader(headers);
  if (header('ce-specversion') === undefined) {
    throw new EventError(
      'MalformedEvent',
      'not a CloudEvent: no ce-specversion header (binary mode) and not application/cloudevents+json',
    );
  }
  // Only the attributes the event is made of; extensions (kind, name, ...) repeat what data holds.
  const raw: Record<string, unknown> = {};
  for (const name of ATTRIBUTES) {
    const v = header(`ce-${name}`);
    if (v !== undefined) raw[name] = headerValue(v);
  }
  const contentType = header('content-type');
  if (contentType) raw.datacontenttype = contentType;
  if (body !== '') raw.data = body;
  return fromAttributes(raw);
}

/** One element of a decoded batch: the event, or why it was refused (alone). */
export type BatchItem = { ok: true; event: ResourceEvent } | { ok: false; id: string; error: EventError };

/**
 * A batch-mode body: a JSON array of structured events; a malformed element fails alone. More
 * than `maxEvents` fails the whole batch (PayloadTooLarge) before any element is decoded.
 */
export function decodeBatch(body: string, maxEvents = Number.POSITIVE_INFINITY): BatchItem[] {
  const raw = parseJson(body, 'batch');
  if (!Array.isArray(raw)) throw new EventError('MalformedEvent', 'a CloudEvents batch must be a JSON array');
  if (raw.length > maxEvents) {
    throw new EventError(
      'PayloadTooLarge',
      `the batch holds ${raw.length} events; the limit is ${maxEvents} events per request`,
    );
  }
  return raw.map((item): BatchItem => {
    try {
      return { ok: true, event: decodeStructured(item) };
    } catch (err) {
      const id = typeof (item as { id?: unknown })?.id === 'string' ? (item as { id: string }).id : '';
      if (err instanceof EventError) return { ok: false, id, error: err };
      return { ok: false, id, error: new EventError('MalformedEvent', (err as Error).message) };
    }
  });
}
