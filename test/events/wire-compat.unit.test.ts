// Our hand-written CloudEvents HTTP mapping against the cloudevents SDK, both directions, so the
// lean codec stays what Knative and other SDK users send and accept.
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  decodeBatch,
  decodeEvent,
  encodeReferenceEvent,
  encodeResourceEvent,
  isBatch,
  resourceEvent,
  structuredJson,
  toBatch,
  toBinary,
} from '../../shared/events/index.ts';
import { pod, source } from './fixtures.ts';

const time = '2024-05-01T10:00:00.000Z';

// What a Knative ApiServerSource sends for a Pod update (Resource mode), built with the SDK.
const knativeEvent = new CloudEvent({
  id: 'k-1',
  time,
  type: 'dev.knative.apiserver.resource.update',
  source,
  subject: '/api/v1/namespaces/default/pods/busybox',
  datacontenttype: 'application/json',
  data: pod,
  kind: 'Pod',
  apiversion: 'v1',
  name: 'busybox',
  namespace: 'default',
});

const attributesOf = (e: CloudEvent<unknown>) => {
  const { data: _d, data_base64: _b, ...rest } = e.toJSON() as Record<string, unknown>;
  return rest;
};

describe('wire compatibility with the cloudevents SDK', () => {
  it('the SDK reads our binary and structured events as the same CloudEvent', () => {
    for (const encoding of ['binary', 'structured'] as const) {
      const msg = encodeResourceEvent(pod, { action: 'update', source, id: 'k-1', time, encoding });
      const parsed = HTTP.toEvent({ headers: msg.headers, body: msg.body }) as CloudEvent<unknown>;
      expect(attributesOf(parsed)).toEqual(attributesOf(knativeEvent));
      expect(parsed.data).toEqual(pod);
    }
  });

  it('we read the SDK binary and structured encodings of a Knative event', () => {
    for (const message of [HTTP.binary(knativeEvent), HTTP.structured(knativeEvent)]) {
      const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
      const ev = decodeEvent(message.headers as Record<string, string>, body);
      expect(ev).toMatchObject({
        action: 'update',
        mode: 'resource',
        id: 'k-1',
        time,
        source,
        subject: '/api/v1/namespaces/default/pods/busybox',
        ref: { apiVersion: 'v1', kind: 'Pod', name: 'busybox', namespace: 'default' },
      });
      expect(ev.object).toEqual(pod);
    }
  });

  it('Reference mode: the SDK reads ours, with the reference as data', () => {
    const ref = { apiVersion: 'kubeovn.io/v1', kind: 'Vip', name: 'v' };
    const msg = encodeReferenceEvent(ref, { action: 'delete', source });
    const parsed = HTTP.toEvent({ headers: msg.headers, body: msg.body }) as CloudEvent<unknown>;
    expect(parsed.type).toBe('dev.knative.apiserver.ref.delete');
    expect(parsed.data).toEqual(ref);
    expect(parsed.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(parsed.time ?? ''))).toBe(false);
  });

  it('the SDK reads our batch as an array of the same events, and so do we', () => {
    const events = [0, 1, 2].map((i) =>
      resourceEvent(
        { ...pod, metadata: { ...pod.metadata, name: `p${i}` } },
        { action: 'add', source, id: `b-${i}`, time },
      ),
    );
    const msg = toBatch(events.map(structuredJson));
    expect(isBatch(msg.headers)).toBe(true);
    const parsed = HTTP.toEvent({ headers: msg.headers, body: msg.body }) as CloudEvent<unknown>[];
    expect(parsed.map((e) => [e.id, e.name, e.type])).toEqual([
      ['b-0', 'p0', 'dev.knative.apiserver.resource.add'],
      ['b-1', 'p1', 'dev.knative.apiserver.resource.add'],
      ['b-2', 'p2', 'dev.knative.apiserver.resource.add'],
    ]);
    const ours = decodeBatch(msg.body);
    expect(ours.map((r) => r.ok && r.event.ref.name)).toEqual(['p0', 'p1', 'p2']);
  });

  it('percent-encodes header values outside printable ASCII and reads them back', () => {
    const odd = 'https://k8s example/"100%"/ä';
    const msg = toBinary(resourceEvent(pod, { action: 'add', source: odd, time }));
    expect(msg.headers['ce-source']).toBe('https://k8s%20example/%22100%25%22/%C3%A4');
    expect(decodeEvent(msg.headers, msg.body).source).toBe(odd);
  });

  it('a batch body that is not an array is refused whole; a bad element fails alone', () => {
    expect(() => decodeBatch('{"id":"x"}')).toThrow(/JSON array/);
    expect(() => decodeBatch('[{')).toThrow(/not JSON/);
    const good = structuredJson(resourceEvent(pod, { action: 'add', source, id: 'g' }));
    const items = decodeBatch(`[${good},{"id":"bad","specversion":"1.0"},7]`);
    expect(items.map((i) => i.ok)).toEqual([true, false, false]);
    expect(items[1]).toMatchObject({ ok: false, id: 'bad', error: { reason: 'MalformedEvent' } });
    expect(items[2]).toMatchObject({ ok: false, id: '' });
    expect(() => decodeEvent(msg(good).headers, msg(good).body)).toThrow(/batched/);
  });
});

const msg = (one: string) => toBatch([one]);
