// The development API server on the wire: Status errors, auth by token or client certificate,
// watch semantics (selectors, bookmarks, 410 as an ERROR event, initial events), the Table form,
// discovery, and the CLI as a child process.
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevApiServer } from '../../infra/dev-apiserver/index.ts';
import { stopPid, waitFor } from '../../infra/local/services.ts';
import { ROOT, startTestApiServer, type TestApiServer } from './dev-server.ts';

let server: DevApiServer;
let api: TestApiServer;

beforeAll(async () => {
  api = await startTestApiServer('http-token', { bookmarkIntervalMs: 100, historyLimit: 5 });
  server = api.server;
});
afterAll(async () => {
  await api?.stop();
});

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: wire JSON of many shapes, read only in assertions
  body: any;
}

function call(
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; cert?: boolean; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    // Node sends a DELETE body unframed unless its length is given (client-go always gives it).
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? server.token}`;
    const req = request(
      url,
      {
        method,
        headers,
        ca: server.ca,
        ...(opts.cert ? { cert: server.certificates.clientCert, key: server.certificates.clientKey } : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens a watch and collects its events until `close()`. */
function watch(path: string) {
  // biome-ignore lint/suspicious/noExplicitAny: wire JSON of many shapes, read only in assertions
  const events: { type: string; object: any }[] = [];
  let ended = false;
  const req = request(
    new URL(path, server.url),
    { headers: { authorization: `Bearer ${server.token}` }, ca: server.ca },
    (res) => {
      res.on('error', () => {
        ended = true;
      });
      const lines = createInterface(res);
      lines.on('line', (l) => events.push(JSON.parse(l)));
      lines.on('error', () => {
        ended = true;
      });
      res.on('end', () => {
        ended = true;
      });
      res.on('close', () => {
        ended = true;
      });
    },
  );
  req.on('error', () => {
    ended = true;
  });
  req.end();
  return { events, isEnded: () => ended, close: () => req.destroy() };
}

const pod = (name: string, labels: Record<string, string>, nodeName?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
});

describe('development API server over HTTP', () => {
  it('answers errors as Status objects and guards with a token or a client certificate', async () => {
    const anon = await call('GET', '/api/v1/namespaces', undefined, { token: null });
    expect(anon).toMatchObject({
      status: 401,
      body: { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 },
    });
    expect((await call('GET', '/api/v1/namespaces', undefined, { token: 'wrong' })).status).toBe(401);
    expect((await call('GET', '/api/v1/namespaces', undefined, { token: null, cert: true })).status).toBe(
      200,
    );
    const missing = await call('GET', '/apis/kubeovn.io/v1/vips/nope');
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: 'vips.kubeovn.io "nope" not found',
      details: { name: 'nope', group: 'kubeovn.io', kind: 'vips' },
    });
    await call('POST', '/apis/kubeovn.io/v1/vips', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'dup' },
      spec: { subnet: 's' },
    });
    const dup = await call('POST', '/apis/kubeovn.io/v1/vips', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'dup' },
      spec: { subnet: 's' },
    });
    expect(dup.body).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    const invalid = await call('POST', '/apis/kubeovn.io/v1/vips', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'inv' },
      spec: {},
    });
    expect(invalid.body).toMatchObject({
      reason: 'Invalid',
      code: 422,
      details: { causes: [{ field: 'spec.subnet' }] },
    });
    const noNs = await call('POST', '/api/v1/namespaces/nope/pods', pod('p', {}));
    expect(noNs.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found' });
  });

  it('serves discovery for the built-ins and the CRDs', async () => {
    const groups = (await call('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining(['apps', 'kubeovn.io', 'kubevirt.io', 'apiextensions.k8s.io']),
    );
    const kubeovn = (await call('GET', '/apis/kubeovn.io/v1')).body.resources;
    expect(kubeovn.find((r: { name: string }) => r.name === 'vips')).toMatchObject({
      kind: 'Vip',
      namespaced: false,
      shortNames: ['vip'],
    });
    expect(kubeovn.map((r: { name: string }) => r.name)).toContain('vips/status');
    const crd = (await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/vips.kubeovn.io'))
      .body;
    expect(crd.status.conditions.find((c: { type: string }) => c.type === 'Established').status).toBe('True');
  });

  it('watches with label and field selectors, sends bookmarks, and turns a lost match into DELETED', async () => {
    const list = (await call('GET', '/api/v1/namespaces/default/pods')).body;
    const w = watch(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}&labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dn1&allowWatchBookmarks=true`,
    );
    await call('POST', '/api/v1/namespaces/default/pods', pod('w1', { app: 'web' }, 'n1'));
    await call('POST', '/api/v1/namespaces/default/pods', pod('w2', { app: 'web' }, 'n2'));
    await call('POST', '/api/v1/namespaces/default/pods', pod('w3', { app: 'db' }, 'n1'));
    await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/w1',
      { metadata: { labels: { app: 'gone' } } },
      { headers: { 'content-type': 'application/merge-patch+json' } },
    );
    await waitFor(
      'events',
      async () => w.events.some((e) => e.type === 'DELETED') && w.events.some((e) => e.type === 'BOOKMARK'),
    );
    const changes = w.events
      .filter((e) => e.type !== 'BOOKMARK')
      .map((e) => `${e.type} ${e.object.metadata.name}`);
    expect(changes).toEqual(['ADDED w1', 'DELETED w1']);
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK');
    expect(Number(bookmark?.object.metadata.resourceVersion)).toBeGreaterThan(
      Number(list.metadata.resourceVersion),
    );
    w.close();
  });

  it('answers a watch from an expired resourceVersion with a 410 ERROR event and closes it', async () => {
    const old = (await call('GET', '/apis/kubeovn.io/v1/vips')).body.metadata.resourceVersion;
    for (let i = 0; i < 7; i++)
      await call('POST', '/apis/kubeovn.io/v1/vips', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name: `h${i}` },
        spec: { subnet: 's' },
      });
    const w = watch(`/apis/kubeovn.io/v1/vips?watch=true&resourceVersion=${old}`);
    await waitFor('410', async () => w.isEnded());
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
    // without a resourceVersion: every current object as ADDED, then an end-of-initial-events bookmark
    const fresh = watch(
      '/apis/kubeovn.io/v1/vips?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&labelSelector=',
    );
    await waitFor('initial events', async () => fresh.events.some((e) => e.type === 'BOOKMARK'));
    const first = fresh.events.findIndex((e) => e.type === 'BOOKMARK');
    expect(fresh.events.slice(0, first).map((e) => e.object.metadata.name)).toEqual([
      'dup',
      ...Array.from({ length: 7 }, (_, i) => `h${i}`),
    ]);
    expect(fresh.events[first]?.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    fresh.close();
  });

  it('serves the Table form for lists, single objects and watch events', async () => {
    const accept = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' };
    const t = (await call('GET', '/apis/kubeovn.io/v1/vips?labelSelector=', undefined, { headers: accept }))
      .body;
    expect(t.kind).toBe('Table');
    expect(t.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 3)).toEqual([
      'Name',
      'V4IP',
      'PV4IP',
    ]);
    expect(t.rows[0].object.kind).toBe('PartialObjectMetadata');
    const one = (
      await call('GET', '/apis/kubeovn.io/v1/vips/dup?includeObject=Object', undefined, { headers: accept })
    ).body;
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0].object.spec).toEqual({ subnet: 's' });
  });

  it('honours a resourceVersion precondition on update and delete (409)', async () => {
    const v = (
      await call('POST', '/apis/kubeovn.io/v1/vips', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name: 'pre' },
        spec: { subnet: 's' },
      })
    ).body;
    const ok = await call('PUT', '/apis/kubeovn.io/v1/vips/pre', { ...v, spec: { subnet: 't' } });
    expect(ok.body.metadata.generation).toBe(2);
    const stale = await call('PUT', '/apis/kubeovn.io/v1/vips/pre', { ...v, spec: { subnet: 'u' } });
    expect(stale.status, JSON.stringify(stale.body)).toBe(409);
    expect(stale.body).toMatchObject({ code: 409, reason: 'Conflict' });
    const del = await call('DELETE', '/apis/kubeovn.io/v1/vips/pre', {
      preconditions: { resourceVersion: v.metadata.resourceVersion },
    });
    expect(del.status, JSON.stringify(del.body)).toBe(409);
    expect(del.body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await call('DELETE', '/apis/kubeovn.io/v1/vips/pre')).status).toBe(200);
  });

  it('runs as a CLI that prints where it listens and stops on SIGTERM', async () => {
    const cliDir = join(api.dir, 'cli');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'infra/dev-apiserver/main.ts'), '--dir', cliDir, '--token', 'cli-token'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface(child.stdout).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const info = JSON.parse(line) as { url: string; token: string; kubeconfigPath: string };
      expect(info).toMatchObject({ token: 'cli-token', kubeconfigPath: join(cliDir, 'kubeconfig') });
      expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(`${code} ${signal}`)));
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.kill('SIGTERM');
      expect(`${await exited} ${stderr}`).toBe('0 null ');
    } finally {
      if (child.exitCode === null && child.pid) await stopPid(child.pid, 'SIGKILL');
    }
  });
});
