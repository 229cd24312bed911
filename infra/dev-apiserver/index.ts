// Starts the development API server on loopback and writes a kubeconfig for it. Used in-process by
// the local stack and tests, and by main.ts as a CLI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { AdmissionWebhook } from './admission.ts';
import type { KubeObject } from './selectors.ts';
import { ApiServer } from './server.ts';
import { type DevCertificates, ensureCertificates } from './tls.ts';

export type { AdmissionWebhook } from './admission.ts';
export { ApiServer } from './server.ts';

export interface DevApiServerOptions {
  /** 0 or absent: a free port */
  port?: number;
  host?: string;
  /** where the kubeconfig is written */
  dir: string;
  /** the bearer token clients must send */
  token: string;
  /** YAML files of CustomResourceDefinitions (or any objects) applied at start, in order */
  crdFiles?: string[];
  /** further YAML files applied after the CRDs, e.g. the default Subnet */
  applyFiles?: string[];
  admissionWebhooks?: AdmissionWebhook[];
  /** events kept per resource for watch resume; older resourceVersions get 410 Gone */
  historyLimit?: number;
  bookmarkIntervalMs?: number;
}

export interface DevApiServer {
  url: string;
  token: string;
  kubeconfigPath: string;
  /** PEM of the CA that signed the server certificate (clients must trust it) */
  ca: string;
  certificates: DevCertificates;
  api: ApiServer;
  stop(): Promise<void>;
  /** Forgets watch history: every resourceVersion a client holds becomes too old (410 Gone). */
  forceCompaction(): void;
  /** Same as forceCompaction (the name the relay tests use). */
  expireHistory(): void;
  /** Cuts every open watch connection; returns how many were open. */
  dropWatches(): number;
  /** TLS connections accepted so far (tests use it to see that clients keep connections alive). */
  connectionCount(): number;
  /** Adds a validating webhook after start (e.g. once the functions listen). */
  addAdmissionWebhook(hook: AdmissionWebhook): void;
}

export function readYamlObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with the token; the client certificate is in it too, so either works. */
export function kubeconfigYaml(url: string, token: string, certs: DevCertificates): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: vipres-dev',
    '    cluster:',
    `      server: ${url}`,
    `      certificate-authority-data: ${b64(certs.ca)}`,
    'users:',
    '  - name: vipres-dev-admin',
    '    user:',
    `      token: ${token}`,
    `      client-certificate-data: ${b64(certs.clientCert)}`,
    `      client-key-data: ${b64(certs.clientKey)}`,
    'contexts:',
    '  - name: vipres-dev',
    '    context:',
    '      cluster: vipres-dev',
    '      user: vipres-dev-admin',
    '      namespace: default',
    'current-context: vipres-dev',
    '',
  ].join('\n');
}

export async function startDevApiServer(opts: DevApiServerOptions): Promise<DevApiServer> {
  const api = new ApiServer({
    token: opts.token,
    admissionWebhooks: opts.admissionWebhooks,
    historyLimit: opts.historyLimit,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
  });
  for (const file of [...(opts.crdFiles ?? []), ...(opts.applyFiles ?? [])]) {
    for (const obj of readYamlObjects(file)) await api.apply(obj);
  }
  const certs = ensureCertificates(opts.dir);
  // Client certificates are asked for but not required: a request without one may bring the token.
  const server: Server = createServer(
    {
      key: certs.serverKey,
      cert: certs.serverCert,
      ca: certs.ca,
      requestCert: true,
      rejectUnauthorized: false,
    },
    api.handle,
  );
  server.keepAliveTimeout = 30_000;
  let connections = 0;
  server.on('secureConnection', () => {
    connections++;
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://${host}:${port}`;
  mkdirSync(opts.dir, { recursive: true });
  const kubeconfigPath = join(opts.dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(url, opts.token, certs), { mode: 0o600 });
  return {
    url,
    token: opts.token,
    kubeconfigPath,
    ca: certs.ca,
    certificates: certs,
    api,
    async stop() {
      api.closeWatches();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    forceCompaction: () => api.store.compact(),
    expireHistory: () => api.store.compact(),
    dropWatches: () => api.dropWatches(),
    connectionCount: () => connections,
    addAdmissionWebhook: (hook) => {
      api.webhooks.push(hook);
    },
  };
}
