// CLI: runs the node agent in the foreground until SIGINT/SIGTERM, then removes what it made.
//   node --import tsx infra/node-agent/main.ts --nb tcp:127.0.0.1:6641 --kubeconfig FILE [--dir DIR] [--instance ID]
// Prints one JSON line when ready: {"ready":true,"instance":...,"sbRemote":...,"dir":...}.
// HEALTH_PORT: /livez, /readyz (NB, its own SB and the API server answer) and /metrics (pods wired,
// holder changes).
import { parseArgs } from 'node:util';
import { collectDefaultMetrics } from 'prom-client';
import { apiServerCheck, ovsdbCheck, runChecks } from '../../shared/health/readiness.ts';
import { holderChangeEvents } from '../../shared/holder/events.ts';
import { createEventRecorder, kubeEventSink } from '../../shared/kube/event-recorder.ts';
import { createKube } from '../../shared/kube/index.ts';
import { createHolderMetrics, registerReadiness } from '../../shared/metrics/process.ts';
import { OvsdbClient } from '../../shared/ovsdb/client.ts';
import { parseRemotes } from '../../shared/ovsdb/transport.ts';
import { healthListenFromEnv, startHealthServer } from '../health/server.ts';
import { makeTempDir } from '../local/services.ts';
import { cannotRunReason, startNodeAgent } from './agent.ts';

const { values } = parseArgs({
  options: {
    nb: { type: 'string' },
    kubeconfig: { type: 'string' },
    dir: { type: 'string' },
    instance: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const reason = cannotRunReason();
if (reason) {
  console.error(`node agent: ${reason}`);
  process.exit(2);
}
if (!values.nb || !values.kubeconfig) {
  console.error('usage: main.ts --nb REMOTE --kubeconfig FILE [--dir DIR] [--instance ID]');
  process.exit(2);
}
const metrics = createHolderMetrics();
collectDefaultMetrics({ register: metrics.registry });
const eventKube = createKube({ kubeconfigPath: values.kubeconfig });
const events = createEventRecorder({
  sink: kubeEventSink(eventKube.transport),
  controller: 'kubeovn.io/vip-holder',
});
const recordHolderChange = holderChangeEvents(eventKube, events);
const agent = await startNodeAgent({
  onHolderChange: (vip, from, to) => {
    metrics.onChange(vip, from, to);
    recordHolderChange(vip, from, to);
  },
  dir: values.dir ?? makeTempDir('vipres-node-'),
  nbRemote: values.nb,
  kube: { kubeconfigPath: values.kubeconfig },
  ...(values.instance ? { instance: values.instance } : {}),
  log: values.quiet ? undefined : (l) => console.error(`node agent: ${l}`),
});
metrics.showPodsWired(() => agent.wired().size);
const healthListen = healthListenFromEnv(process.env);
let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
let nb: OvsdbClient | undefined;
if (healthListen) {
  nb = new OvsdbClient({ remotes: parseRemotes(values.nb), database: 'OVN_Northbound', leaderOnly: true });
  nb.start();
  const kube = eventKube;
  const sync = agent.holderSync;
  const readiness = () =>
    runChecks([
      ovsdbCheck('nb', nb!),
      ...(sync ? [{ name: 'sb', check: () => sync.ping() }] : []),
      apiServerCheck(kube),
    ]);
  registerReadiness(metrics.registry, readiness);
  health = await startHealthServer({ ...healthListen, ready: readiness, registry: metrics.registry });
}
console.log(
  JSON.stringify({ ready: true, instance: agent.instance, sbRemote: agent.sbRemote, dir: agent.dir }),
);
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    nb?.close();
    void Promise.all([agent.stop(), health?.close()]).finally(() => process.exit(0));
  });
}
