// The relay process: `RELAY_SECRET_FILE=/path tsx infra/relay/main.ts --kubeconfig K --sink http://127.0.0.1:8080/events`.
// SIGTERM/SIGINT stop the watches and give queued deliveries a deadline before exiting.
// With --leader-elect (RELAY_LEADER_ELECT=true) several replicas run and only the holder of the
// Lease lists, watches and delivers; a follower waits, ready, until it takes the lease over.
// HEALTH_PORT: /livez, /readyz (a leader: initial lists queued and the API server answers; a
// follower: ready, and says whom it follows) and /metrics.
import { readFileSync, watchFile } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { runChecks } from '../../shared/health/readiness.ts';
import { registerReadiness } from '../../shared/metrics/process.ts';
import { healthListenFromEnv, startHealthServer } from '../health/server.ts';
import { parseRelayArgs, parseSinkList } from './cli.ts';
import type { CloseResult } from './delivery.ts';
import { kubeTransport } from './kube-transport.ts';
import { kubeLeasePort, LeaderElector } from './leader.ts';
import { createRelayMetrics } from './metrics.ts';
import { type Relay, startRelay } from './relay.ts';
import { createSettledStore } from './settled-store.ts';

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

let relay: Relay | undefined;
let synced = false;
let lastStop: CloseResult | undefined;
let sinks = cli.sinks;

// A sinks file is polled (a ConfigMap volume is updated by a rename that fs.watch can miss): the
// replicas' URLs change while events keep flowing.
if (cli.sinksFile) {
  const file = cli.sinksFile;
  watchFile(file, { interval: 250 }, () => {
    try {
      const next = parseSinkList(readFileSync(file, 'utf8'));
      if (next.length === 0 || next.join() === sinks.join()) return;
      sinks = next;
      relay?.setSinks(next);
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, 'sinks file unreadable; keeping the sinks');
    }
  });
}

/** Lists, watches and delivers (a new relay each term: its first list covers what was in flight). */
function lead(): void {
  const current = startRelay({
    transport,
    onDelivered: metrics.onDelivered,
    sinks,
    secret: cli.secret,
    token: cli.token,
    resyncMs: cli.resyncMs,
    concurrency: cli.concurrency,
    maxBatch: cli.maxBatch,
    maxInFlight: cli.maxInFlight,
    maxAttempts: cli.maxAttempts,
    logger: log,
    // One store (one connection) per term: the relay closes it when it stops.
    ...(cli.state
      ? {
          settledStore: createSettledStore({
            url: cli.state.redisUrl,
            ...(cli.state.password ? { password: cli.state.password } : {}),
            prefix: cli.state.prefix,
            logger: log,
          }),
        }
      : {}),
  });
  relay = current;
  metrics.attach(current);
  synced = false;
  current.synced.then(() => {
    if (relay !== current) return;
    synced = true;
    log.info({ stats: current.stats().resources }, 'initial lists delivered to the queue');
  });
}

async function stopRelay(deadlineMs: number): Promise<void> {
  const current = relay;
  relay = undefined;
  synced = false;
  if (current) lastStop = await current.stop({ deadlineMs });
}

const election = cli.leaderElection;
const elector = election
  ? new LeaderElector({
      port: kubeLeasePort(kc, election.leaseNamespace, election.leaseName),
      identity: election.identity,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      logger: log,
      onStartedLeading: lead,
      // Lost: stop at once, the next leader relists (nothing is waited for). Shutdown: drain first.
      onStoppedLeading: (why) => stopRelay(why === 'shutdown' ? cli.shutdownDeadlineMs : 0),
    })
  : undefined;

if (elector) {
  log.info(
    { lease: `${election!.leaseNamespace}/${election!.leaseName}`, identity: election!.identity },
    'leader election: waiting for the lease',
  );
  elector.start();
} else {
  lead();
}

// Probes for a Deployment (HEALTH_PORT): the leader is ready once its initial lists are queued
// and while the API server answers (any HTTP status below 500 is an answer); a follower is ready at
// once (a healthy standby) and says whom it follows.
const checks = [
  {
    name: 'lists',
    check: async () =>
      (elector && !elector.isLeader()) || synced
        ? undefined
        : Promise.reject(new Error('initial lists pending')),
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
  await startHealthServer({
    ...healthListen,
    ready: () => runChecks(checks),
    registry: metrics.registry,
    detail: () => {
      if (!elector) return 'role=leader election=off';
      const s = elector.status();
      return `role=${s.role === 'leader' ? 'leader' : 'follower'} identity=${s.identity} leader=${s.leader || '-'}`;
    },
  });

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    // The leader drains, then gives the lease up so a follower takes over at once.
    const done = elector ? elector.stop() : stopRelay(cli.shutdownDeadlineMs);
    done.then(
      () => process.exit(!lastStop || lastStop.drained ? 0 : 1),
      () => process.exit(1),
    );
  });
}
