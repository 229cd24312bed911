// Node entry: `node --import tsx functions/serve/node.ts`.
// env: REDIS_URL or REDIS_CLUSTER_NODES (+ REDIS_PASSWORD[_FILE]), API_TOKEN[_FILE], PORT, HOST;
// with OVN_NB_REMOTES (+ OVN_NB_SSL_*_FILE, KUBECONFIG, RELAY_SECRET[_FILE] / EVENTS_TOKEN[_FILE]) it
// also serves /events and /admission. TLS_CERT_FILE + TLS_KEY_FILE: HTTPS (files re-read when
// they change, as a renewed Kubernetes Secret is); ADMISSION_CLIENT_CA_FILE and
// ADMISSION_TOKEN[_FILE]: what /admission requires of its caller. HEALTH_PORT: /metrics, /livez and
// /readyz over plain HTTP on that port too (unauthenticated, as Prometheus scrapes; HEALTH_HOST,
// default 0.0.0.0). Closes everything on SIGTERM.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type HttpBindings, serve } from '@hono/node-server';
import type { Context } from 'hono';
import { collectDefaultMetrics } from 'prom-client';
import { healthListenFromEnv, startHealthServer } from '../../infra/health/server.ts';
import { readConfig } from '../../shared/config.ts';
import { runChecks } from '../../shared/health/readiness.ts';
import { createFunctionMetrics } from '../../shared/metrics/functions.ts';
import { registerReadiness } from '../../shared/metrics/process.ts';
import { createWholeApp } from './whole-app.ts';

// Milliseconds since the process started at each start step, printed with the listening line: a
// restarted replica should take events within 2 s (docs/performance.md).
const startSteps: string[] = [`modules ${Math.round(performance.now())}`];
const readText = (path: string) => readFileSync(path, 'utf8');
const config = readConfig(process.env, { readFile: readText });
const { tls, admissionAuth } = config;

const metrics = createFunctionMetrics();
collectDefaultMetrics({ register: metrics.registry });
// When the first event came and when it was done, once: how long a restarted replica kept its
// events waiting, which the listening line alone does not tell.
const firstEvent: { start?: number; done?: number } = {};
const onEvent = (phase: 'start' | 'done') => {
  if (firstEvent[phase] !== undefined) return;
  firstEvent[phase] = Math.round(performance.now());
  if (phase === 'done')
    console.log(`first event: came ${firstEvent.start} ms, done ${firstEvent.done} ms since start`);
};
const { app, ports, parts } = await createWholeApp(
  config,
  {
    clientCertificate: (c: Context<{ Bindings: HttpBindings }>) =>
      (c.env.incoming.socket as TLSSocket).authorized === true,
  },
  { metrics, onEvent },
);
startSteps.push(`app ${Math.round(performance.now())}`);
registerReadiness(metrics.registry, () => runChecks(ports.checks));
const healthListen = healthListenFromEnv(process.env);
const health = healthListen
  ? await startHealthServer({
      ...healthListen,
      ready: () => runChecks(ports.checks),
      registry: metrics.registry,
    })
  : undefined;

const secureContext = () => ({
  key: readText(tls!.keyFile),
  cert: readText(tls!.certFile),
  ...(admissionAuth.clientCaFile ? { ca: readText(admissionAuth.clientCaFile) } : {}),
});
const server = tls
  ? serve({
      fetch: app.fetch,
      port: config.port,
      hostname: config.host,
      createServer: createHttpsServer,
      serverOptions: {
        ...secureContext(),
        // Asked of every client but checked only on /admission: /v1 callers use their token.
        ...(admissionAuth.clientCaFile ? { requestCert: true, rejectUnauthorized: false } : {}),
      },
    })
  : serve({ fetch: app.fetch, port: config.port, hostname: config.host });
server.once('listening', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  startSteps.push(`listening ${Math.round(performance.now())}`);
  // What the first events would wait for (the Kubernetes client's modules) loads now.
  ports.warm?.();
  console.log(
    `functions (${parts}) listening on ${tls ? 'https' : 'http'}://${config.host}:${port} (ms since start: ${startSteps.join(', ')})`,
  );
});

// A renewed certificate (cert-manager rewrites the Secret, the kubelet swaps the mounted files)
// is picked up by new connections without a restart. Polling follows the kubelet's symlink swap.
const watched = tls
  ? [tls.certFile, tls.keyFile, admissionAuth.clientCaFile].filter((f) => f !== undefined)
  : [];
for (const file of watched) {
  watchFile(file, { interval: 1_000, persistent: false }, (now, before) => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino) return;
    try {
      (server as HttpsServer).setSecureContext(secureContext());
      console.log(`reloaded the TLS files after ${file} changed`);
    } catch (err) {
      // A half-written pair (new cert, old key) fails here; the next change completes it.
      console.error(`could not reload the TLS files after ${file} changed: ${(err as Error).message}`);
    }
  });
}

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  for (const file of watched) unwatchFile(file);
  server.close(async () => {
    await health?.close();
    await ports.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(1), 10_000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
