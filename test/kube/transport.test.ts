// What the client puts on the wire and how it takes what comes back, seen from a plain HTTP
// server that records each request: paths, queries, content types, credentials (static and from
// an exec plugin), answers that are not Kubernetes Status objects, timeouts, refused connections.
import { X509Certificate } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureCertificates } from '../../infra/dev-apiserver/tls.ts';
import { freePort, makeTempDir } from '../../infra/local/services.ts';
import { createKube, type Kube, KubeApiError, KubeNotFoundError } from '../../shared/kube/index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let url: string;
let seen: Seen[] = [];
let answer: (req: Seen, res: ServerResponse) => void;
let connections = 0;

const ok = (_req: Seen, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ metadata: { name: 'x', resourceVersion: '7' }, items: [] }));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      answer(s, res);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

let kube: Kube | undefined;
/** A kubeconfig whose user gets credentials from an exec plugin (a script of the test's). */
function execPluginConfig(
  cluster: { server: string; skipTLSVerify?: boolean; caData?: string },
  plugin: string,
) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', ...cluster }],
    users: [
      {
        name: 'u',
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, args: [], env: [] },
      },
    ],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const client = (o: { token?: string; requestTimeoutMs?: number } = {}) => {
  // client-node allows a plain http server only with skipTLSVerify
  kube = createKube({ server: url, token: o.token ?? 'tok', skipTLSVerify: true, ...o });
  return kube;
};
afterEach(() => {
  kube?.close();
  kube = undefined;
  seen = [];
  answer = ok;
});
answer = ok;

describe('requests on the wire', () => {
  it('builds paths of core, apps and custom kinds, cluster-scoped and namespaced', async () => {
    const k = client();
    await k.get('Pod', { namespace: 'kube-system', name: 'p1' });
    await k.get('Pod', { name: 'p2' });
    await k.get('StatefulSet', { namespace: 'ns', name: 'web' });
    await k.get('Vip', { name: 'v1' });
    await k.get('VirtualMachine', { namespace: 'vms', name: 'vm1' });
    await k.patchStatus('Subnet', 'ovn-default', { v4availableIPs: 3 });
    await k.patch('Pod', { namespace: 'ns', name: 'p1' }, { status: {} }, { subresource: 'status' });
    await k.delete('SwitchLBRule', { name: 'r1' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/namespaces/kube-system/pods/p1',
      'GET /api/v1/namespaces/default/pods/p2',
      'GET /apis/apps/v1/namespaces/ns/statefulsets/web',
      'GET /apis/kubeovn.io/v1/vips/v1',
      'GET /apis/kubevirt.io/v1/namespaces/vms/virtualmachines/vm1',
      'PATCH /apis/kubeovn.io/v1/subnets/ovn-default/status',
      'PATCH /api/v1/namespaces/ns/pods/p1/status',
      'DELETE /apis/kubeovn.io/v1/switch-lb-rules/r1',
    ]);
    expect(seen.every((s) => s.headers.authorization === 'Bearer tok')).toBe(true);
    expect(seen.every((s) => s.headers.accept === 'application/json')).toBe(true);
    expect(seen.find((s) => s.method === 'DELETE')?.body).toBe('');
  });

  it('encodes list selectors into the query and lists across namespaces without one', async () => {
    const k = client();
    await k.listPods({ labelSelector: 'app in (a,b),tier!=db', fieldSelector: 'spec.nodeName=n1' });
    await k.listPods({ namespace: 'ns' });
    await k.list('StatefulSet');
    await k.listVips({ labelSelector: 'ovn.kubernetes.io/subnet=ovn-default' });
    const [first, ...rest] = seen.map((s) => new URL(s.url, url));
    expect(first?.pathname).toBe('/api/v1/pods');
    expect(first?.searchParams.get('labelSelector')).toBe('app in (a,b),tier!=db');
    expect(first?.searchParams.get('fieldSelector')).toBe('spec.nodeName=n1');
    expect(rest.map((u) => u.pathname + u.search)).toEqual([
      '/api/v1/namespaces/ns/pods',
      '/apis/apps/v1/statefulsets',
      '/apis/kubeovn.io/v1/vips?labelSelector=ovn.kubernetes.io%2Fsubnet%3Dovn-default',
    ]);
  });

  it('sends merge patches, JSON patches and creates with their content types and JSON bodies', async () => {
    const k = client();
    await k.patchStatus('Vip', 'v1', { v4ip: '10.16.0.2', note: 'ü' }, { resourceVersion: '41' });
    await k.patch('Vip', { name: 'v1' }, [{ op: 'remove', path: '/metadata/finalizers/0' }], {
      type: 'json',
    });
    await k.patchMetadata('Pod', { namespace: 'ns', name: 'p' }, { labels: { a: null } });
    await k.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } });
    const [status, json, meta, create] = seen;
    expect(status?.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(status?.body ?? '')).toEqual({
      metadata: { resourceVersion: '41' },
      status: { v4ip: '10.16.0.2', note: 'ü' },
    });
    expect(Number(status?.headers['content-length'])).toBe(Buffer.byteLength(status?.body ?? ''));
    expect(json?.headers['content-type']).toBe('application/json-patch+json');
    expect(JSON.parse(json?.body ?? '')).toEqual([{ op: 'remove', path: '/metadata/finalizers/0' }]);
    expect(meta?.url).toBe('/api/v1/namespaces/ns/pods/p');
    expect(JSON.parse(meta?.body ?? '')).toEqual({ metadata: { labels: { a: null } } });
    expect(`${create?.method} ${create?.url} ${create?.headers['content-type']}`).toBe(
      'POST /api/v1/namespaces/ns/pods application/json',
    );
  });

  it('serves a server behind a path prefix', async () => {
    kube = createKube({ server: `${url}/k8s/`, token: 't', skipTLSVerify: true });
    await kube.get('Vip', { name: 'v1' });
    expect(seen[0]?.url).toBe('/k8s/apis/kubeovn.io/v1/vips/v1');
  });
});

describe('answers', () => {
  it('returns the JSON answer as it came, strings as strings', async () => {
    const body = {
      metadata: { name: 'p', creationTimestamp: '2026-01-02T03:04:05Z', extra: { kept: true } },
      status: { startTime: '2026-01-02T03:04:05.123456Z' },
    };
    answer = (_s, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    expect(await client().get('Pod', { namespace: 'ns', name: 'p' })).toEqual(body);
  });

  it('maps a Status body to the typed error with its message', async () => {
    answer = (_s, res) =>
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'pods "p" not found',
          reason: 'NotFound',
          code: 404,
        }),
      );
    const k = client();
    await expect(k.get('Pod', { name: 'p' })).rejects.toMatchObject({
      name: 'KubeNotFoundError',
      message: 'pods "p" not found',
    });
    expect(await k.getPod('default', 'p')).toBeUndefined();
  });

  it('takes a body that is not a Status (a proxy page) as the message', async () => {
    answer = (_s, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream went away\n');
    const err = await client()
      .get('Vip', { name: 'v' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 502, reason: '', message: 'upstream went away' });
    answer = (_s, res) => res.writeHead(404).end();
    const empty = await client()
      .get('Vip', { name: 'v' })
      .catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(KubeNotFoundError);
    expect(empty).toMatchObject({ code: 404, message: 'HTTP 404' });
  });

  it('fails a 200 whose body is not JSON', async () => {
    answer = (_s, res) => res.writeHead(200).end('<html>');
    await expect(client().get('Vip', { name: 'v' })).rejects.toThrow(/not JSON/);
  });
});

describe('connections', () => {
  it('keeps one connection alive across sequential calls', async () => {
    const k = client();
    const before = connections;
    for (let i = 0; i < 25; i++) await k.get('Vip', { name: `v${i}` });
    expect(connections - before).toBe(1);
    expect(seen).toHaveLength(25);
  });

  it('holds concurrent calls to maxSockets connections', async () => {
    kube = createKube({ server: url, token: 't', skipTLSVerify: true, maxSockets: 2 });
    const k = kube;
    const before = connections;
    await Promise.all(Array.from({ length: 20 }, (_, i) => k.get('Vip', { name: `v${i}` })));
    expect(seen).toHaveLength(20);
    expect(connections - before).toBe(2);
  });

  it('times out a call the server never answers, then works again on a new connection', async () => {
    answer = (s, res) => {
      if (s.url.endsWith('/hang')) return; // never answers
      ok(s, res);
    };
    const k = client({ requestTimeoutMs: 200 });
    const t0 = Date.now();
    const err = await k.get('Vip', { name: 'hang' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((err as Error).message).toContain('200 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(seen.map((s) => s.url)).toEqual(['/apis/kubeovn.io/v1/vips/hang']);
    expect((await k.get('Vip', { name: 'fine' })).metadata.name).toBe('x');
  });

  it('reports a refused connection as a network error, not an API error', async () => {
    const port = await freePort();
    kube = createKube({ server: `http://127.0.0.1:${port}`, token: 't', skipTLSVerify: true });
    const err = await kube.get('Vip', { name: 'v' }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('credentials that change', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('vipres-kube-exec-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('asks an exec plugin per call, so a refreshed token is used at once', async () => {
    const tokenFile = join(dir, 'token');
    const plugin = join(dir, 'plugin.sh');
    // An expired credential: client-node runs the plugin again on every call.
    writeFileSync(
      plugin,
      `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}' "$(cat ${tokenFile})"\n`,
    );
    chmodSync(plugin, 0o755);
    writeFileSync(tokenFile, 'first');
    const kc = execPluginConfig({ server: url, skipTLSVerify: true }, plugin);
    kube = createKube({ kubeConfig: kc });
    await kube.get('Vip', { name: 'a' });
    writeFileSync(tokenFile, 'second');
    await kube.get('Vip', { name: 'b' });
    const before = connections;
    await kube.get('Vip', { name: 'c' });
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      'Bearer first',
      'Bearer second',
      'Bearer second',
    ]);
    expect(connections - before).toBe(0); // same connection: only the header changed
  });
});

describe('connections, further', () => {
  it('reuses the connections of a burst for the next burst, and one for calls one after another', async () => {
    const k = client();
    const before = connections;
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => k.get('Vip', { name: `r${round}-${i}` })));
    }
    expect(connections - before).toBe(8);
    for (let i = 0; i < 10; i++) await k.get('Vip', { name: `s${i}` });
    expect(connections - before).toBe(8);
    expect(seen).toHaveLength(42);
  });

  it('drops a call that ran out of time while waiting for a connection: it never reaches the server', async () => {
    answer = (s, res) => {
      if (s.url.endsWith('/hang')) return;
      ok(s, res);
    };
    kube = createKube({ server: url, token: 't', skipTLSVerify: true, maxSockets: 1, requestTimeoutMs: 300 });
    const k = kube;
    const hung = k.get('Vip', { name: 'hang' }).catch((e: unknown) => e);
    const queued = k.get('Vip', { name: 'queued' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    // Both run out of time in the same turn of the event loop, before the hung call's connection
    // is given up: the waiting call must not be sent on it then.
    const until = Date.now() + 400;
    while (Date.now() < until) {}
    expect(await hung).toMatchObject({ name: 'TimeoutError' });
    expect(await queued).toMatchObject({ name: 'TimeoutError' });
    expect((await k.get('Vip', { name: 'after' })).metadata.name).toBe('x');
    expect(seen.map((s) => s.url)).toEqual([
      '/apis/kubeovn.io/v1/vips/hang',
      '/apis/kubeovn.io/v1/vips/after',
    ]);
  });

  it('close() fails a call in flight at once and the next call opens a new connection', async () => {
    answer = (s, res) => {
      if (s.url.endsWith('/hang')) return;
      ok(s, res);
    };
    const k = client({ requestTimeoutMs: 10_000 });
    await k.get('Vip', { name: 'first' });
    const t0 = Date.now();
    const hung = k.get('Vip', { name: 'hang' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const before = connections;
    k.close();
    const err = await hung;
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(KubeApiError);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((await k.get('Vip', { name: 'again' })).metadata.name).toBe('x');
    expect(connections - before).toBe(1);
  });

  it('decodes an answer whose UTF-8 characters are split across packets', async () => {
    const text = JSON.stringify({ metadata: { name: 'ü€😀'.repeat(3000) } });
    const bytes = Buffer.from(text);
    answer = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
      // Cut inside the first multi-byte character, and flush each part on its own.
      res.write(bytes.subarray(0, 14), () => setTimeout(() => res.end(bytes.subarray(14)), 20));
    };
    expect((await client().get('Vip', { name: 'v' })).metadata.name).toBe('ü€😀'.repeat(3000));
  });

  it('goes through the proxy of a cluster with a proxy-url', async () => {
    // A CONNECT proxy that tunnels every connection to the recording server.
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req: IncomingMessage, client: Socket) => {
      tunnels.push(req.url ?? '');
      const upstream = connect((server.address() as AddressInfo).port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          {
            name: 'c',
            server: 'http://kube.invalid:6443',
            skipTLSVerify: true,
            proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          },
        ],
        users: [{ name: 'u', token: 'via-proxy' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      kube = createKube({ kubeConfig: kc, requestTimeoutMs: 5_000 });
      expect((await kube.get('Vip', { name: 'v1' })).metadata.name).toBe('x');
      await kube.patchStatus('Vip', 'v1', { ready: true });
      expect(tunnels[0]).toBe('kube.invalid:6443');
      expect(seen.map((s) => `${s.method} ${s.url} ${s.headers.host} ${s.headers.authorization}`)).toEqual([
        'GET /apis/kubeovn.io/v1/vips/v1 kube.invalid:6443 Bearer via-proxy',
        'PATCH /apis/kubeovn.io/v1/vips/v1/status kube.invalid:6443 Bearer via-proxy',
      ]);
      expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ status: { ready: true } });
    } finally {
      kube?.close();
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('client certificates that change', () => {
  it('opens new connections with a certificate an exec plugin hands out anew', async () => {
    const dir = makeTempDir('vipres-kube-certs-');
    const a = ensureCertificates(join(dir, 'a'));
    const b = ensureCertificates(join(dir, 'b'));
    const peers: string[] = [];
    let tlsConnections = 0;
    const tlsServer = createTlsServer(
      { key: a.serverKey, cert: a.serverCert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const cert = (req.socket as TLSSocket).getPeerCertificate();
        peers.push(cert.subject?.CN ? cert.fingerprint256 : 'none');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ metadata: { name: req.url } }));
      },
    );
    tlsServer.on('secureConnection', () => {
      tlsConnections++;
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    try {
      const credential = (c: typeof a) =>
        JSON.stringify({
          apiVersion: 'client.authentication.k8s.io/v1',
          kind: 'ExecCredential',
          status: {
            clientCertificateData: c.clientCert,
            clientKeyData: c.clientKey,
            expirationTimestamp: '2000-01-01T00:00:00Z',
          },
        });
      writeFileSync(join(dir, 'a.json'), credential(a));
      writeFileSync(join(dir, 'b.json'), credential(b));
      const pick = join(dir, 'pick');
      const plugin = join(dir, 'plugin.sh');
      writeFileSync(plugin, `#!/bin/sh\ncat "${dir}/$(cat ${pick}).json"\n`);
      chmodSync(plugin, 0o755);
      writeFileSync(pick, 'a');
      const kc = execPluginConfig(
        {
          server: `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`,
          caData: Buffer.from(a.ca).toString('base64'),
        },
        plugin,
      );
      kube = createKube({ kubeConfig: kc });
      await kube.get('Vip', { name: 'a1' });
      await kube.get('Vip', { name: 'a2' });
      expect(tlsConnections).toBe(1);
      writeFileSync(pick, 'b');
      await kube.get('Vip', { name: 'b1' });
      await kube.get('Vip', { name: 'b2' });
      expect(tlsConnections).toBe(2);
      const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
      expect(peers).toEqual([fp(a.clientCert), fp(a.clientCert), fp(b.clientCert), fp(b.clientCert)]);
    } finally {
      tlsServer.closeAllConnections();
      await new Promise<void>((r) => tlsServer.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
