// The holder sync process: keeps every Vip's `status.holder` equal to the parent OVN binds its
// address to, from the southbound database (shared/holder). In a cluster it reads kube-ovn's own
// SB (`ovn-sb` in kube-system); kube-ovn's ovn-controller does the binding.
//   env: OVN_SB_REMOTES (comma-separated, required), KUBECONFIG (default: in-cluster),
//        HOLDER_RESYNC_MS (default 2000), HEALTH_PORT (/livez, /readyz, /metrics), LOG_LEVEL.
// SIGTERM/SIGINT stop the monitor and exit 0.
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { apiServerCheck, runChecks } from '../../shared/health/readiness.ts';
import { holderChangeEvents } from '../../shared/holder/events.ts';
import { startHolderSync } from '../../shared/holder/index.ts';
import { createEventRecorder, kubeEventSink } from '../../shared/kube/event-recorder.ts';
import { createKube } from '../../shared/kube/index.ts';
import { createHolderMetrics, registerReadiness } from '../../shared/metrics/process.ts';
import { healthListenFromEnv, startHealthServer } from '../health/server.ts';

const env = process.env;
const log = pino({ name: 'holder', level: env.LOG_LEVEL?.trim() || 'info' });
const sbRemotes = (env.OVN_SB_REMOTES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (sbRemotes.length === 0) {
  process.stderr.write('holder: OVN_SB_REMOTES is needed (e.g. tcp:ovn-sb.kube-system.svc:6642)\n');
  process.exit(2);
}
const resyncMs = Number(env.HOLDER_RESYNC_MS ?? '2000');
if (!Number.isInteger(resyncMs) || resyncMs < 100) {
  process.stderr.write(`holder: HOLDER_RESYNC_MS "${env.HOLDER_RESYNC_MS}" must be an integer >= 100\n`);
  process.exit(2);
}
const kubeconfig = env.KUBECONFIG?.trim();
const kube = createKube(kubeconfig ? { kubeconfigPath: kubeconfig } : { kubeConfig: inCluster() });

const events = createEventRecorder({
  sink: kubeEventSink(kube.transport),
  controller: 'kubeovn.io/vip-holder',
});
const recordHolderChange = holderChangeEvents(kube, events);
let sync: Awaited<ReturnType<typeof startHolderSync>> | undefined;
const metrics = createHolderMetrics();
collectDefaultMetrics({ register: metrics.registry });
// Ready once the first monitor reply and the first pass over the Vips are done, and while the SB
// leader and the API server answer.
const readiness = () =>
  runChecks([
    { name: 'sb', check: () => (sync ? sync.ping() : Promise.reject(new Error('starting'))) },
    apiServerCheck(kube),
  ]);
registerReadiness(metrics.registry, readiness);
const listen = healthListenFromEnv(env);
const health = listen
  ? await startHealthServer({ ...listen, ready: readiness, registry: metrics.registry })
  : undefined;

sync = await startHolderSync({
  sbRemotes,
  kube,
  resyncMs,
  log: (line) => log.info(line),
  onChange: (vip, from, to) => {
    metrics.onChange(vip, from, to);
    recordHolderChange(vip, from, to);
  },
});
log.info({ sbRemotes }, 'holder sync running');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    Promise.all([sync?.stop(), health?.close(), events.flush()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/** In a cluster: the service account's token and CA. */
function inCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
