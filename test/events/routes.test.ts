import { describe, expect, it } from 'vitest';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { DomainError } from '../../shared/errors.ts';
import {
  type Dispatch,
  encodeReferenceEvent,
  encodeResourceEvent,
  type Outcome,
  type ResourceEvent,
  signBody,
} from '../../shared/events/index.ts';

const secret = 'relay-secret';
const token = 'knative-token';
const vip = {
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name: 'vip-a' },
  spec: { subnet: 'ovn-default' },
};

function setup(answer: Outcome | (() => Promise<Outcome>) = { status: 'done' }) {
  const seen: ResourceEvent[] = [];
  const dispatch: Dispatch = async (ev) => {
    seen.push(ev);
    return typeof answer === 'function' ? answer() : answer;
  };
  const app = createEventRoutes({ dispatch, secret, token });
  return { app, seen };
}

async function signedPost(
  app: ReturnType<typeof setup>['app'],
  msg: { headers: Record<string, string>; body: string },
) {
  const sig = await signBody(secret, msg.body);
  return app.request('/', { method: 'POST', headers: { ...msg.headers, ...sig }, body: msg.body });
}

describe('POST /events', () => {
  it('a signed Resource-mode event reaches dispatch and answers 200', async () => {
    const { app, seen } = setup();
    const res = await signedPost(app, encodeResourceEvent(vip, { action: 'add', source: 'https://k' }));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ action: 'add', mode: 'resource', ref: { kind: 'Vip', name: 'vip-a' } });
    expect(seen[0]?.object).toEqual(vip);
  });

  it('a Reference-mode event with a bearer token (as Knative sends it) is accepted', async () => {
    const { app, seen } = setup();
    const msg = encodeReferenceEvent(
      { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' },
      { action: 'delete', source: 'https://k', encoding: 'structured' },
    );
    const res = await app.request('/', {
      method: 'POST',
      headers: { ...msg.headers, authorization: `Bearer ${token}` },
      body: msg.body,
    });
    expect(res.status).toBe(200);
    expect(seen[0]).toMatchObject({
      action: 'delete',
      mode: 'reference',
      ref: { name: 'p', namespace: 'ns' },
    });
  });

  it('401 without credentials or with a bad signature, and dispatch never runs', async () => {
    const { app, seen } = setup();
    const msg = encodeResourceEvent(vip, { action: 'add', source: 'https://k' });
    const none = await app.request('/', { method: 'POST', headers: msg.headers, body: msg.body });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ reason: 'Unauthenticated' });
    const sig = await signBody('wrong', msg.body);
    const bad = await app.request('/', {
      method: 'POST',
      headers: { ...msg.headers, ...sig },
      body: msg.body,
    });
    expect(bad.status).toBe(401);
    const tampered = await signBody(secret, msg.body);
    const changed = await app.request('/', {
      method: 'POST',
      headers: { ...msg.headers, ...tampered },
      body: msg.body.replace('vip-a', 'vip-b'),
    });
    expect(changed.status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  it('400 with a reason for a malformed or foreign event', async () => {
    const { app, seen } = setup();
    const res = await signedPost(app, { headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ reason: 'MalformedEvent', message: expect.any(String) });
    const msg = encodeResourceEvent(vip, { action: 'add', source: 'https://k' });
    const foreign = await signedPost(app, {
      headers: { ...msg.headers, 'ce-type': 'com.example.x' },
      body: msg.body,
    });
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ reason: 'UnsupportedEventType' });
    expect(seen).toHaveLength(0);
  });

  it('maps outcomes: retry -> 503, timed retry -> 429 + Retry-After, rejected -> 422', async () => {
    const msg = encodeResourceEvent(vip, { action: 'update', source: 'https://k' });
    const retry = await signedPost(setup({ status: 'retry', reason: 'RedisDown' }).app, msg);
    expect(retry.status).toBe(503);
    expect(await retry.json()).toMatchObject({ reason: 'RedisDown' });
    const timed = await signedPost(
      setup({ status: 'retry', reason: 'Conflict', retryAfterMs: 1500 }).app,
      msg,
    );
    expect(timed.status).toBe(429);
    expect(timed.headers.get('retry-after')).toBe('2');
    const rejected = await signedPost(
      setup({ status: 'rejected', reason: 'InvalidSpec', message: 'spec.type is bad' }).app,
      msg,
    );
    expect(rejected.status).toBe(422);
    expect(await rejected.json()).toEqual({ reason: 'InvalidSpec', message: 'spec.type is bad' });
  });

  it('a thrown DomainError is 422, any other throw is 503 (retry)', async () => {
    const msg = encodeResourceEvent(vip, { action: 'update', source: 'https://k' });
    const domain = await signedPost(
      setup(async () => {
        throw new DomainError('SubnetNotFound', 'subnet x does not exist');
      }).app,
      msg,
    );
    expect(domain.status).toBe(422);
    expect(await domain.json()).toMatchObject({ reason: 'SubnetNotFound' });
    const crash = await signedPost(
      setup(async () => {
        throw new Error('ECONNREFUSED');
      }).app,
      msg,
    );
    expect(crash.status).toBe(503);
  });

  it('refuses to be built without a secret or token', () => {
    expect(() => createEventRoutes({ dispatch: async () => ({ status: 'done' }) })).toThrow(/secret/);
  });
});
