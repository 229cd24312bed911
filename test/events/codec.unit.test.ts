import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  EventError,
  encodeReferenceEvent,
  encodeResourceEvent,
  objectKey,
  objectPath,
  signBody,
  verifyRequest,
} from '../../shared/events/index.ts';
import { pod, source } from './fixtures.ts';

const vip = {
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name: 'vip-aap', resourceVersion: '7' },
  spec: { subnet: 'ovn-default', namespace: 'default' },
};

describe('object paths (Knative subject)', () => {
  it('uses /apis for named groups and /api for core, namespaces only when namespaced', () => {
    expect(objectPath({ apiVersion: 'kubeovn.io/v1', kind: 'Vip', name: 'vip-aap' })).toBe(
      '/apis/kubeovn.io/v1/vips/vip-aap',
    );
    expect(objectPath({ apiVersion: 'v1', kind: 'Pod', name: 'busybox', namespace: 'default' })).toBe(
      '/api/v1/namespaces/default/pods/busybox',
    );
    expect(objectPath({ apiVersion: 'kubeovn.io/v1', kind: 'SwitchLBRule', name: 'r' })).toBe(
      '/apis/kubeovn.io/v1/switch-lb-rules/r',
    );
  });
  it('keys include the kind so a Vip and a Subnet of one name differ', () => {
    expect(objectKey({ kind: 'Vip', name: 'a' })).not.toBe(objectKey({ kind: 'Subnet', name: 'a' }));
    expect(objectKey({ kind: 'Pod', name: 'a', namespace: 'ns' })).toBe('Pod:ns/a');
  });
});

describe('encode then decode', () => {
  it('binary Resource mode carries the type, subject, extensions and the whole object', () => {
    const msg = encodeResourceEvent(pod, { action: 'update', source });
    expect(msg.headers['ce-type']).toBe('dev.knative.apiserver.resource.update');
    expect(msg.headers['ce-subject']).toBe('/api/v1/namespaces/default/pods/busybox');
    expect(msg.headers['ce-kind']).toBe('Pod');
    expect(msg.headers['ce-apiversion']).toBe('v1');
    expect(msg.headers['ce-name']).toBe('busybox');
    expect(msg.headers['ce-namespace']).toBe('default');
    expect(msg.headers['ce-source']).toBe(source);
    const ev = decodeEvent(msg.headers, msg.body);
    expect(ev).toMatchObject({
      action: 'update',
      mode: 'resource',
      ref: { apiVersion: 'v1', kind: 'Pod', name: 'busybox', namespace: 'default' },
      source,
      subject: '/api/v1/namespaces/default/pods/busybox',
    });
    expect(ev.object).toEqual(pod);
    expect(ev.id).toBe(msg.headers['ce-id']);
  });

  it('structured mode decodes to the same event', () => {
    const msg = encodeResourceEvent(vip, { action: 'delete', source, encoding: 'structured', id: 'e-1' });
    expect(msg.headers['content-type']).toContain('application/cloudevents+json');
    const ev = decodeEvent(msg.headers, msg.body);
    expect(ev).toMatchObject({
      action: 'delete',
      mode: 'resource',
      id: 'e-1',
      ref: { kind: 'Vip', name: 'vip-aap' },
    });
    expect(ev.ref.namespace).toBeUndefined();
    expect(ev.object).toEqual(vip);
  });

  it('Reference mode has only the reference and no object', () => {
    const ref = { apiVersion: 'kubeovn.io/v1', kind: 'Vip', name: 'vip-aap' };
    const msg = encodeReferenceEvent(ref, { action: 'add', source });
    expect(msg.headers['ce-type']).toBe('dev.knative.apiserver.ref.add');
    const ev = decodeEvent(msg.headers, msg.body);
    expect(ev).toMatchObject({ action: 'add', mode: 'reference', ref });
    expect(ev.object).toBeUndefined();
  });

  it('accepts headers in any case and a Headers instance', () => {
    const msg = encodeResourceEvent(vip, { action: 'add', source });
    const upper = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(decodeEvent(upper, msg.body).ref.name).toBe('vip-aap');
    expect(decodeEvent(new Headers(msg.headers), msg.body).ref.name).toBe('vip-aap');
  });
});

describe('malformed events are refused with a reason', () => {
  const good = encodeResourceEvent(vip, { action: 'add', source });
  const expectError = (fn: () => unknown, reason: string, text: RegExp) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(EventError);
      expect((err as EventError).reason).toBe(reason);
      expect((err as EventError).message).toMatch(text);
      return;
    }
    throw new Error('expected an EventError');
  };

  it('not a CloudEvent at all', () => {
    expectError(
      () => decodeEvent({ 'content-type': 'application/json' }, '{}'),
      'MalformedEvent',
      /not a CloudEvent/,
    );
  });
  it('missing type or source', () => {
    const { 'ce-type': _t, ...noType } = good.headers;
    expectError(() => decodeEvent(noType, good.body), 'MalformedEvent', /type/);
    const { 'ce-source': _s, ...noSource } = good.headers;
    expectError(() => decodeEvent(noSource, good.body), 'MalformedEvent', /source/);
  });
  it('a type that is not an ApiServerSource type', () => {
    expectError(
      () => decodeEvent({ ...good.headers, 'ce-type': 'com.example.other' }, good.body),
      'UnsupportedEventType',
      /com\.example\.other/,
    );
  });
  it('data that is not JSON or lacks the object name', () => {
    expectError(() => decodeEvent(good.headers, '{not json'), 'MalformedEvent', /JSON/);
    expectError(
      () =>
        decodeEvent(good.headers, JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Vip', metadata: {} })),
      'MalformedEvent',
      /metadata\.name/,
    );
    const ref = encodeReferenceEvent({ apiVersion: 'v1', kind: 'Pod', name: 'p' }, { action: 'add', source });
    expectError(
      () => decodeEvent(ref.headers, JSON.stringify({ kind: 'Pod', name: 'p' })),
      'MalformedEvent',
      /apiVersion/,
    );
  });
});

describe('signatures and tokens', () => {
  const secret = 's3cret';
  const body = '{"a":1}';
  const now = 1_800_000_000_000;

  it('a signed body verifies; a changed body, a wrong secret or an old timestamp do not', async () => {
    const headers = await signBody(secret, body, now);
    expect(headers['x-relay-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await verifyRequest(headers, body, { secret, nowMs: now + 1000 })).toEqual({
      ok: true,
      method: 'signature',
    });
    expect((await verifyRequest(headers, '{"a":2}', { secret, nowMs: now })).ok).toBe(false);
    expect((await verifyRequest(headers, body, { secret: 'other', nowMs: now })).ok).toBe(false);
    const late = await verifyRequest(headers, body, { secret, nowMs: now + 10 * 60_000 });
    expect(late).toEqual({ ok: false, message: expect.stringMatching(/replay window/) });
  });

  it('a bearer token is accepted when configured, and nothing else is', async () => {
    const token = 'tok-123';
    expect(await verifyRequest({ authorization: 'Bearer tok-123' }, body, { token })).toEqual({
      ok: true,
      method: 'token',
    });
    expect((await verifyRequest({ authorization: 'Bearer tok-124' }, body, { token })).ok).toBe(false);
    expect((await verifyRequest({}, body, { token, secret })).ok).toBe(false);
    // A token is no use when only a secret is configured.
    expect((await verifyRequest({ authorization: 'Bearer tok-123' }, body, { secret })).ok).toBe(false);
  });
});
