// Starts the development API server on loopback and writes a kubeconfig for it. Used in-process by
// the local stack and tests, and by main.ts as a CLI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import type { AdmissionWebhook } from './admission.ts';
import type { KubeObject } from './selectors.ts';
import { ApiServer } from './server.ts';
import { type DevCertificates, ensureCertificates } from './tls.ts';

export type { AdmissionWebhook } from './admission.ts';
export { type ExecBackend, type ExecProcess, ExecRefused, type ExecRequest } from './exec.ts';
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
  /**
   * Rewrites the kubeconfig with a named extension on its cluster (kubeconfig's own place for
   * tool-specific data; kubectl keeps and ignores it). `kubectl ko` finds the OVN databases there.
   */
  setClusterExtension(name: string, value: Record<string, unknown>): void;
}

/** The extension that names the stack's OVN databases: `{ nb, sb? }` (OVSDB remotes). */
export const OVN_EXTENSION = 'ovn.vipres.dev';

export function readYamlObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with the token; the client certificate is in it too, so either works. */
export function kubeconfigYaml(
  url: string,
  token: string,
  certs: DevCertificates,
  extensions: Record<string, Record<string, unknown>> = {},
): string {
  const ext = Object.entries(extensions);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: vipres-dev',
    '    cluster:',
    `      server: ${url}`,
    `      certificate-authority-data: ${b64(certs.ca)}`,
    ...(ext.length > 0
      ? [
          '      extensions:',
          ...ext.flatMap(([name, value]) => [
            `        - name: ${name}`,
            `          extension: ${JSON.stringify(value)}`,
          ]),
        ]
      : []),
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
  // Upgraded connections (exec) leave the server's bookkeeping: stop() ends them itself.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    api.handleUpgrade(req, socket, head);
  });
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
  const extensions: Record<string, Record<string, unknown>> = {};
  const writeKubeconfig = () =>
    writeFileSync(kubeconfigPath, kubeconfigYaml(url, opts.token, certs, extensions), { mode: 0o600 });
  writeKubeconfig();
  return {
    url,
    token: opts.token,
    kubeconfigPath,
    ca: certs.ca,
    certificates: certs,
    api,
    async stop() {
      api.closeWatches();
      for (const s of upgraded) s.destroy();
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
    setClusterExtension(name, value) {
      extensions[name] = value;
      writeKubeconfig();
    },
  };
}
