import { describe, expect, it } from 'vitest';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import {
  type Dispatch,
  encodeReferenceEvent,
  encodeResourceEvent,
  type Outcome,
  type ResourceEvent,
  resourceEvent,
  signBody,
  structuredJson,
  toBatch,
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

  it('a done outcome names the resourceVersions it produced in the single answer', async () => {
    const msg = encodeResourceEvent(vip, { action: 'add', source: 'https://k', id: 'e-7' });
    const res = await signedPost(setup({ status: 'done', produced: ['41', '42'] }).app, msg);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'done', id: 'e-7', produced: ['41', '42'] });
    const plain = await signedPost(setup({ status: 'done' }).app, msg);
    expect(await plain.json()).toEqual({ status: 'done', id: 'e-7' });
  });
});

describe('POST /events with a CloudEvents batch', () => {
  const named = (name: string, id: string) =>
    structuredJson(
      resourceEvent({ ...vip, metadata: { name } }, { action: 'update', source: 'https://k', id }),
    );

  it('answers 200 with each event its own status; a malformed one fails alone; all run at once', async () => {
    const started: string[] = [];
    let release: () => void = () => {};
    const allStarted = new Promise<void>((r) => {
      release = r;
    });
    const outcomes: Record<string, () => Promise<Outcome>> = {
      ok: async () => ({ status: 'done', produced: ['9'] }),
      busy: async () => ({ status: 'retry', reason: 'Conflict', retryAfterMs: 1500 }),
      down: async () => ({ status: 'retry', reason: 'RedisDown' }),
      invalid: async () => ({ status: 'rejected', reason: 'InvalidSpec', message: 'bad type' }),
      domain: async () => {
        throw new DomainError('SubnetNotFound', 'no subnet x');
      },
      crash: async () => {
        throw new Error('ECONNRESET');
      },
    };
    const names = Object.keys(outcomes);
    const dispatch: Dispatch = async (ev) => {
      started.push(ev.ref.name);
      if (started.length === names.length) release();
      await allStarted; // only resolves if every event of the batch is in dispatch at the same time
      return outcomes[ev.ref.name]!();
    };
    const app = createEventRoutes({ dispatch, secret });
    const parts = names.map((n, i) => named(n, `id-${i}`));
    parts.splice(2, 0, '{"specversion":"1.0","id":"broken","type":"dev.knative.apiserver.resource.add"}');
    const msg = toBatch(parts);
    const res = await signedPost(app, msg);
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results).toEqual([
      { id: 'id-0', status: 200, produced: ['9'] },
      { id: 'id-1', status: 429, reason: 'Conflict', message: 'retry later', retryAfterMs: 1500 },
      { id: 'broken', status: 400, reason: 'MalformedEvent', message: expect.stringMatching(/source/) },
      { id: 'id-2', status: 503, reason: 'RedisDown', message: 'retry later' },
      { id: 'id-3', status: 422, reason: 'InvalidSpec', message: 'bad type' },
      { id: 'id-4', status: 422, reason: 'SubnetNotFound', message: 'no subnet x' },
      { id: 'id-5', status: 503, reason: 'HandlerFailed', message: 'ECONNRESET' },
    ]);
    expect(started.sort()).toEqual([...names].sort());
  });

  it('checks the signature once over the whole body: a changed batch runs nothing', async () => {
    const { app, seen } = setup();
    const msg = toBatch([named('a', '1'), named('b', '2')]);
    const sig = await signBody(secret, msg.body);
    const res = await app.request('/', {
      method: 'POST',
      headers: { ...msg.headers, ...sig },
      body: msg.body.replace('"a"', '"c"'),
    });
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(0);
    const ok = await signedPost(app, msg);
    expect(ok.status).toBe(200);
    expect(seen.map((e) => e.ref.name).sort()).toEqual(['a', 'b']);
  });

  it('a batch that is not a JSON array is refused whole with 400', async () => {
    const { app, seen } = setup();
    const res = await signedPost(app, { ...toBatch([]), body: '{"id":1}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ reason: 'MalformedEvent' });
    const empty = await signedPost(app, toBatch([]));
    expect(await empty.json()).toEqual({ results: [] });
    expect(seen).toHaveLength(0);
  });
});
