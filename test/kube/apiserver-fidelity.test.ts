// Corners of the development API server's fidelity that the conformance rows do not reach: the
// protobuf decoder's refusals on the wire, dry-run through /scale, continue tokens that are too
// old, and a watch that asked for no initial events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeClient } from './conformance/clients.ts';
import { startTestApiServer, type TestApiServer } from './dev-server.ts';

let api: TestApiServer;
let c: NodeClient;

beforeAll(async () => {
  api = await startTestApiServer('fidelity-token', { historyLimit: 5 });
  c = new NodeClient(api.server.kubeconfigPath, 'default');
});
afterAll(async () => {
  await api?.stop();
});

/** A protobuf body as client-go frames it: `k8s\0` + runtime.Unknown{typeMeta, raw}. */
function protobuf(apiVersion: string, kind: string, raw: number[]): Buffer {
  const field = (num: number, bytes: number[]) => [(num << 3) | 2, bytes.length, ...bytes];
  const text = (num: number, s: string) => field(num, [...Buffer.from(s)]);
  return Buffer.from([
    0x6b,
    0x38,
    0x73,
    0,
    ...field(1, [...text(1, apiVersion), ...text(2, kind)]),
    ...field(2, raw),
  ]);
}
const PB = { 'content-type': 'application/vnd.kubernetes.protobuf' };

describe('development API server fidelity', () => {
  it('creates from protobuf, and refuses a protobuf field or kind it cannot decode with 415, storing nothing', async () => {
    const meta = [0x0a, 3, ...Buffer.from('pb1')];
    const ok = await c.raw(
      'POST',
      '/api/v1/namespaces',
      protobuf('v1', 'Namespace', [0x0a, meta.length, ...meta]),
      PB,
    );
    expect(ok.status).toBe(201);
    expect(ok.json.metadata.name).toBe('pb1');
    // Namespace field 2 is its spec; field 9 of NamespaceSpec does not exist in this decoder.
    const unknown = await c.raw(
      'POST',
      '/api/v1/namespaces',
      protobuf('v1', 'Namespace', [0x12, 2, 0x48, 1]),
      PB,
    );
    expect(unknown.status).toBe(415);
    expect(unknown.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
    expect(unknown.json.message).toMatch(/field 9 of spec/);
    const secret = await c.raw('POST', '/api/v1/namespaces/default/pods', protobuf('v1', 'Secret', []), PB);
    expect(secret.status).toBe(415);
    const names = (await c.core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toContain('pb1');
    expect(names).toHaveLength(5);
  });

  it('scales with dryRun=All without changing the StatefulSet', async () => {
    await c.apps.createNamespacedStatefulSet({
      namespace: 'default',
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'c', image: 'b' }] },
          },
        },
      },
    });
    const scale = await c.apps.readNamespacedStatefulSetScale({ namespace: 'default', name: 'db' });
    const dry = await c.apps.replaceNamespacedStatefulSetScale({
      namespace: 'default',
      name: 'db',
      body: { ...scale, spec: { replicas: 7 } },
      dryRun: 'All',
    });
    expect(dry.spec?.replicas).toBe(7);
    expect(
      (await c.apps.readNamespacedStatefulSet({ namespace: 'default', name: 'db' })).spec?.replicas,
    ).toBe(1);
  });

  it('answers 410 to a continue token older than the history, 400 to a forged one', async () => {
    for (const n of ['a', 'b', 'c'])
      await c.coordination.createNamespacedLease({
        namespace: 'default',
        body: { metadata: { name: `l-${n}` }, spec: {} },
      });
    const first = await c.coordination.listNamespacedLease({ namespace: 'default', limit: 1 });
    const token = first.metadata?._continue;
    expect(token).toBeTruthy();
    expect(first.metadata?.remainingItemCount).toBe(2);
    for (let i = 0; i < 6; i++)
      await c.coordination.createNamespacedLease({
        namespace: 'default',
        body: { metadata: { name: `m-${i}` }, spec: {} },
      });
    expect(
      await c.code(c.coordination.listNamespacedLease({ namespace: 'default', limit: 1, _continue: token })),
    ).toBe(410);
    const forged = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 'x' })).toString('base64');
    expect(
      await c.code(c.coordination.listNamespacedLease({ namespace: 'default', _continue: forged })),
    ).toBe(400);
  });

  it('starts a watch at the current state when sendInitialEvents=false, with only the later change', async () => {
    const base = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    // The server registers a watch in the same turn as it receives the request (no await before
    // it): once onRequest saw it and that turn is over, a write lands after the watch's start.
    const arrived = new Promise<void>((resolve) => {
      api.server.api.onRequest = (req) => {
        if (req.url?.includes('sendInitialEvents=false')) resolve();
      };
    });
    const got = c.raw(
      'GET',
      `${base}?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`,
    );
    await arrived;
    api.server.api.onRequest = undefined;
    await new Promise((r) => setImmediate(r));
    await c.coordination.createNamespacedLease({
      namespace: 'default',
      body: { metadata: { name: 'later' }, spec: {} },
    });
    const events = (await got).text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED later']);
  });

  it('refuses a JSON array as the body of a create with 400, storing nothing', async () => {
    const before = await c.core.listNamespacedPod({ namespace: 'default' });
    const reply = await c.raw(
      'POST',
      '/api/v1/namespaces/default/pods',
      JSON.stringify([{ metadata: { name: 'in-array' } }]),
      { 'content-type': 'application/json' },
    );
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const after = await c.core.listNamespacedPod({ namespace: 'default' });
    expect(after.items).toHaveLength(before.items.length);
  });
});
