// Turns an HTTP request (binary or structured CloudEvent, Resource or Reference mode, from the relay
// or from a Knative ApiServerSource) into a ResourceEvent, or throws an EventError saying what is wrong.
import { HTTP } from 'cloudevents';
import { z } from 'zod';
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

const kubeObjectSchema = z.looseObject({
  apiVersion: nonEmpty('data.apiVersion'),
  kind: nonEmpty('data.kind'),
  metadata: z.looseObject({
    name: nonEmpty('data.metadata.name'),
    namespace: z.string().optional(),
  }),
});

const referenceSchema = z.looseObject({
  apiVersion: nonEmpty('data.apiVersion'),
  kind: nonEmpty('data.kind'),
  name: nonEmpty('data.name'),
  namespace: z.string().optional(),
});

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function lowerCaseHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [k, v] of entries) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

const issuesText = (error: z.ZodError) =>
  error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

function dataOf(raw: Record<string, unknown>): unknown {
  let data = raw.data;
  if (data === undefined && typeof raw.data_base64 === 'string') {
    data = new TextDecoder().decode(Uint8Array.from(atob(raw.data_base64), (c) => c.charCodeAt(0)));
  }
  if (typeof data === 'string') {
    try {
      return JSON.parse(data);
    } catch {
      throw new EventError('MalformedEvent', 'event data is not JSON');
    }
  }
  if (data instanceof Uint8Array) return dataOf({ data: new TextDecoder().decode(data) });
  return data;
}

export function decodeEvent(headers: HeaderBag, body: string): ResourceEvent {
  const lower = lowerCaseHeaders(headers);
  let raw: Record<string, unknown>;
  try {
    const decoded = HTTP.toEvent({ headers: lower, body });
    if (Array.isArray(decoded)) throw new EventError('MalformedEvent', 'batched events are not accepted');
    raw = decoded as unknown as Record<string, unknown>;
  } catch (err) {
    if (err instanceof EventError) throw err;
    throw new EventError('MalformedEvent', `not a CloudEvent: ${(err as Error).message}`);
  }
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
