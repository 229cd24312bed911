// The Node entry over HTTPS (certificate and key by file, reloaded when they change), and what
// /admission requires of its caller: a bearer token (ADMISSION_TOKEN_FILE) in one process, a client
// certificate signed by ADMISSION_CLIENT_CA_FILE in another. Each is refused without, and accepted
// with. Real Redis, real NB, the development API server for the Subnet the review looks up.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import { type Daemon, freePort, makeTempDir, spawnDaemon, waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { type CertFiles, makeCa, makeLeaf } from '../setup/certs.ts';

let dir = '';
let apiServer: DevApiServer;
let ca: CertFiles;
let otherCa: CertFiles;
let client: CertFiles;
let strangerClient: CertFiles;
const daemons: Daemon[] = [];
const ABSENT = `https-absent-${process.pid}`;

interface Answer {
  status: number;
  body: string;
  peerSerial: string;
}

/** One HTTPS request on a new connection; `tls` adds a client certificate or another CA. */
function httpsCall(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    cert?: CertFiles;
    caFile?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ca: readFileSync(opts.caFile ?? ca.cert),
        ...(opts.cert ? { key: readFileSync(opts.cert.key), cert: readFileSync(opts.cert.cert) } : {}),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const peerSerial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peerSerial }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

const review = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: 'kubeovn.io', version: 'v1', kind: 'Vip' },
    operation: 'CREATE',
    name: 'v',
    object: { metadata: { name: 'v' }, spec: { subnet: 'ovn-default' } },
  },
});
const postReview = (url: string, extra: Parameters<typeof httpsCall>[1] = {}) =>
  httpsCall(`${url}/admission/vips`, {
    ...extra,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra.headers },
    body: review,
  });

async function startFunctions(name: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const d = spawnDaemon(
    name,
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'functions/serve/node.ts')],
    dir,
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        REDIS_URL: inject('redisUrl'),
        OVN_NB_REMOTES: inject('nbRemote'),
        KUBECONFIG: apiServer.kubeconfigPath,
        API_TOKEN_FILE: join(dir, 'api-token'),
        RELAY_SECRET: 'unused-here',
        LOG_LEVEL: 'warn',
        TLS_CERT_FILE: join(dir, 'tls.crt'),
        TLS_KEY_FILE: join(dir, 'tls.key'),
        ...env,
      },
    },
  );
  daemons.push(d);
  const url = `https://127.0.0.1:${port}`;
  await waitFor(`${name} over https`, async () => (await httpsCall(`${url}/healthz`)).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  return url;
}

beforeAll(async () => {
  dir = makeTempDir('vipres-https-');
  ca = await makeCa(dir, 'ca');
  otherCa = await makeCa(dir, 'other-ca');
  const server = await makeLeaf(dir, 'server', ca, { san: 'IP:127.0.0.1' });
  client = await makeLeaf(dir, 'apiserver-client', ca, { cn: 'kube-apiserver' });
  strangerClient = await makeLeaf(dir, 'stranger', otherCa);
  // The mounted Secret, as a webhook Service's certificate would be.
  copyFileSync(server.cert, join(dir, 'tls.crt'));
  copyFileSync(server.key, join(dir, 'tls.key'));
  writeFileSync(join(dir, 'api-token'), 'the-api-token\n', { mode: 0o600 });
  writeFileSync(join(dir, 'admission-token'), 'the-admission-token\n', { mode: 0o600 });
  apiServer = await startDevApiServer({
    dir: join(dir, 'apiserver'),
    token: 'dev-token',
    crdFiles: [join(ROOT, 'infra/manifests/crds/subnets.kubeovn.io.yaml')],
    applyFiles: [join(ROOT, 'infra/local/ovn-default.yaml')],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await apiServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS with a bearer token on /admission', () => {
  let url = '';
  beforeAll(async () => {
    url = await startFunctions('fn-token', { ADMISSION_TOKEN_FILE: join(dir, 'admission-token') });
  }, 60_000);

  it('serves the reservation API over HTTPS with the token from its file', async () => {
    // Authenticated and answered over TLS (no such subnet in this Redis).
    const ok = await httpsCall(`${url}/v1/subnets/${ABSENT}`, {
      headers: { authorization: 'Bearer the-api-token' },
    });
    expect(ok.status).toBe(404);
    expect((await httpsCall(`${url}/v1/subnets/${ABSENT}`)).status).toBe(401);
    // A client that does not trust the server's CA does not get through the handshake.
    await expect(httpsCall(`${url}/healthz`, { caFile: otherCa.cert })).rejects.toThrow(
      /self[- ]signed|verify/i,
    );
  });

  it('refuses /admission without the token or with a wrong one, and answers with it', async () => {
    const none = await postReview(url);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ reason: 'Unauthenticated' });
    const wrong = await postReview(url, { headers: { authorization: 'Bearer the-admission-tokeN' } });
    expect(wrong.status).toBe(401);
    // The API token is not the admission token.
    expect((await postReview(url, { headers: { authorization: 'Bearer the-api-token' } })).status).toBe(401);
    const ok = await postReview(url, { headers: { authorization: 'Bearer the-admission-token' } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ response: { uid: 'u-1', allowed: true } });
  });

  it('serves a renewed certificate to new connections without a restart', async () => {
    const before = (await httpsCall(`${url}/healthz`)).peerSerial;
    const renewed = await makeLeaf(dir, 'server-renewed', ca, { san: 'IP:127.0.0.1' });
    // Key first, then certificate: the pair is consistent again once the second file lands.
    copyFileSync(renewed.key, join(dir, 'tls.key'));
    copyFileSync(renewed.cert, join(dir, 'tls.crt'));
    const after = await waitFor(
      'the renewed certificate',
      async () => {
        const serial = (await httpsCall(`${url}/healthz`)).peerSerial;
        return serial !== before ? serial : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(after).not.toBe(before);
  });
});

describe('HTTPS with a client certificate on /admission', () => {
  let url = '';
  beforeAll(async () => {
    url = await startFunctions('fn-mtls', { ADMISSION_CLIENT_CA_FILE: ca.cert });
  }, 60_000);

  it('refuses /admission without a client certificate or with one from another CA', async () => {
    const none = await postReview(url);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ reason: 'Unauthenticated' });
    expect((await postReview(url, { cert: strangerClient })).status).toBe(401);
  });

  it('accepts /admission with a certificate the CA signed; /v1 needs none', async () => {
    const ok = await postReview(url, { cert: client });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ response: { uid: 'u-1', allowed: true } });
    const api = await httpsCall(`${url}/v1/subnets/${ABSENT}`, {
      headers: { authorization: 'Bearer the-api-token' },
    });
    expect(api.status).toBe(404);
  });
});
