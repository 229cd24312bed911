// The relay process: `RELAY_SECRET_FILE=/path tsx infra/relay/main.ts --kubeconfig K --sink http://127.0.0.1:8080/events`.
// SIGTERM/SIGINT stop the watches and give queued deliveries a deadline before exiting.
// HEALTH_PORT: /livez, /readyz (initial lists queued and the API server answers) and /metrics.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { runChecks } from '../../shared/health/readiness.ts';
import { registerReadiness } from '../../shared/metrics/process.ts';
import { healthListenFromEnv, startHealthServer } from '../health/server.ts';
import { parseRelayArgs } from './cli.ts';
import { kubeTransport } from './kube-transport.ts';
import { createRelayMetrics } from './metrics.ts';
import { startRelay } from './relay.ts';

let cli: ReturnType<typeof parseRelayArgs>;
try {
  cli = parseRelayArgs(process.argv.slice(2), process.env, { readFile: (p) => readFileSync(p, 'utf8') });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}

const log = pino({ name: 'relay', level: cli.logLevel });
const kc = new KubeConfig();
if (cli.kubeconfig) kc.loadFromFile(cli.kubeconfig);
else kc.loadFromDefault();

const metrics = createRelayMetrics();
collectDefaultMetrics({ register: metrics.registry });
const transport = kubeTransport(kc);
const relay = startRelay({
  transport,
  onDelivered: metrics.onDelivered,
  sinks: cli.sinks,
  secret: cli.secret,
  token: cli.token,
  resyncMs: cli.resyncMs,
  concurrency: cli.concurrency,
  maxBatch: cli.maxBatch,
  maxInFlight: cli.maxInFlight,
  maxAttempts: cli.maxAttempts,
  logger: log,
});

metrics.attach(relay);

let synced = false;
relay.synced.then(() => {
  synced = true;
  log.info({ stats: relay.stats().resources }, 'initial lists delivered to the queue');
});
// Probes for a Deployment (HEALTH_PORT): ready once the initial lists are queued and while the
// API server answers (any HTTP status below 500 is an answer).
const checks = [
  {
    name: 'lists',
    check: async () => (synced ? undefined : Promise.reject(new Error('initial lists pending'))),
  },
  {
    name: 'apiserver',
    check: async (signal: AbortSignal) => {
      const { status } = await transport.list('/version', signal);
      if (status >= 500) throw new Error(`HTTP ${status}`);
    },
  },
];
registerReadiness(metrics.registry, () => runChecks(checks));
const healthListen = healthListenFromEnv(process.env);
if (healthListen)
  await startHealthServer({ ...healthListen, ready: () => runChecks(checks), registry: metrics.registry });

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    relay.stop({ deadlineMs: cli.shutdownDeadlineMs }).then(
      (result) => process.exit(result.drained ? 0 : 1),
      () => process.exit(1),
    );
  });
}
