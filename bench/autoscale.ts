// `npm run demo:autoscale` (= `npm run demo:scale -- --autoscale --svg docs/img/autoscale.svg`):
// the replica count follows the backlog. A latency-bound stack (RTT on every connection of the
// functions, a per-replica cap on events in flight) takes an offered load that steps up and down
// (`--steps 10:10,40:15,80:15,10:15`: Vips/s for seconds; the defaults suit a small shared machine). Every second the autoscaler reads the
// relay's backlog from its /metrics (`vip_relay_queue_depth`: events not yet answered, in flight
// included, as KEDA's Prometheus scaler would), decides (shared/domain/autoscale.ts) and adds or
// removes a replica; the relay learns the new sink list from its watched file. At the end the
// system audit must be clean (no event lost while replicas came and went) and the run is drawn as
// an SVG chart.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { startStack } from '../infra/local/stack.ts';
import { parseDuration } from '../infra/relay/cli.ts';
import { kubeTransport } from '../infra/relay/kube-transport.ts';
import {
  type AutoscalePolicy,
  type AutoscaleState,
  autoscalePolicyProblem,
  decideScale,
  desiredReplicas,
} from '../shared/domain/autoscale.ts';
import { createKube } from '../shared/kube/index.ts';
import { checkOutcome, latencyStack } from './scale.ts';
import { renderChart } from './svg-chart.ts';

const { values } = parseArgs({
  options: {
    autoscale: { type: 'boolean' },
    rtt: { type: 'string', default: '20ms' },
    concurrency: { type: 'string', default: '4' },
    steps: { type: 'string', default: '10:10,40:15,80:15,10:15' },
    min: { type: 'string', default: '1' },
    max: { type: 'string', default: '8' },
    target: { type: 'string' },
    interval: { type: 'string', default: '1s' },
    'up-cooldown': { type: 'string', default: '2s' },
    'down-delay': { type: 'string', default: '8s' },
    svg: { type: 'string' },
    json: { type: 'string' },
  },
  strict: false,
});

const rttMs = parseDuration(String(values.rtt));
const containerConcurrency = Number(values.concurrency);
const steps = String(values.steps)
  .split(',')
  .map((s) => {
    const [rate, seconds] = s.split(':').map(Number);
    if (!(rate! > 0 && seconds! > 0)) throw new Error(`--steps: "${s}" is not RATE:SECONDS`);
    return { rate: rate!, seconds: seconds! };
  });
const total = steps.reduce((a, s) => a + s.rate * s.seconds, 0);
// The 10.16.0.0/16 subnet and the machine: a bound on what one run may create.
if (total > 20_000) throw new Error(`--steps create ${total} Vips; keep a run under 20,000`);
const policy: AutoscalePolicy = {
  minReplicas: Number(values.min),
  maxReplicas: Number(values.max),
  // One replica's fill: its cap on events in flight (Knative's target = containerConcurrency).
  targetPerReplica: values.target ? Number(values.target) : containerConcurrency,
  upCooldownMs: parseDuration(String(values['up-cooldown'])),
  downDelayMs: parseDuration(String(values['down-delay'])),
};
const problem = autoscalePolicyProblem(policy);
if (problem) throw new Error(`autoscaler: ${problem}`);
const intervalMs = parseDuration(String(values.interval));

console.log(
  `autoscaler demo: RTT ${rttMs} ms, ${containerConcurrency} events per replica, replicas ${policy.minReplicas}..${policy.maxReplicas}, ` +
    `target backlog ${policy.targetPerReplica} per replica; load ${steps.map((s) => `${s.rate}/s for ${s.seconds}s`).join(', ')} (${total} Vips)`,
);
const stack = await startStack({
  replicas: policy.minReplicas,
  admission: false,
  resync: '5m',
  dynamicSinks: true,
  ...latencyStack({ rttMs, containerConcurrency }),
});
const kube = createKube({ kubeconfigPath: stack.kubeconfig });
const kc = new KubeConfig();
kc.loadFromFile(stack.kubeconfig);

interface Sample {
  t: number;
  offered: number;
  completed: number;
  replicas: number;
  backlog: number;
  p99: number;
}
const samples: Sample[] = [];
const decisions: { t: number; from: number; to: number; why: string }[] = [];
const created = new Map<string, number>();
const readyAt: { name: string; at: number; latency: number }[] = [];
const seen = new Set<string>();
let exitCode = 1;

try {
  const watchAbort = new AbortController();
  const watchEnded = kubeTransport(kc).watch(
    '/apis/kubeovn.io/v1/vips',
    {},
    (line) => {
      const obj = line.object as { metadata?: { name?: string }; status?: { ready?: boolean } };
      const name = obj.metadata?.name;
      if (!name || !obj.status?.ready || seen.has(name) || !created.has(name)) return;
      seen.add(name);
      const now = performance.now();
      readyAt.push({ name, at: now, latency: now - created.get(name)! });
    },
    watchAbort.signal,
  );

  const backlog = async (): Promise<number> => {
    const text = await (await fetch(`${stack.relayHealthUrl}/metrics`)).text();
    const m = /^vip_relay_queue_depth(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  };

  const start = performance.now();
  const secs = () => (performance.now() - start) / 1000;
  // Open loop, as real clients: creates go out on schedule whatever the system's speed, at most
  // 2,000 unanswered at once (a bound on this process, far above what the steps need).
  let issued = 0;
  let unanswered = 0;
  let createErrors = 0;
  const schedule: number[] = [];
  let at = 0;
  for (const s of steps) {
    for (let i = 0; i < s.rate * s.seconds; i++) schedule.push(at + (i * 1000) / s.rate);
    at += s.seconds * 1000;
  }
  const loadDone = (async () => {
    while (issued < schedule.length) {
      const now = performance.now() - start;
      while (issued < schedule.length && schedule[issued]! <= now && unanswered < 2_000) {
        const name = `as-${String(issued).padStart(5, '0')}`;
        issued++;
        unanswered++;
        created.set(name, performance.now());
        void kube
          .create('Vip', {
            apiVersion: 'kubeovn.io/v1',
            kind: 'Vip',
            metadata: { name },
            spec: { subnet: 'ovn-default' },
          })
          .catch(() => {
            createErrors++;
          })
          .finally(() => unanswered--);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();

  // The control loop: sample, decide, act (one scaling action at a time, never blocking sampling).
  let state: AutoscaleState = { replicas: policy.minReplicas, lastChangeAt: -Infinity };
  let acting: Promise<void> | undefined;
  let lastIssued = 0;
  let lastReady = 0;
  const loadEnd = at / 1000;
  const drainUntil = loadEnd + 60;
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const t = secs();
    const pending = await backlog().catch(() => 0);
    const window = readyAt.filter((r) => r.at - start >= (t - 3) * 1000).map((r) => r.latency);
    window.sort((a, b) => a - b);
    const sample: Sample = {
      t,
      offered: ((issued - lastIssued) * 1000) / intervalMs,
      completed: ((readyAt.length - lastReady) * 1000) / intervalMs,
      replicas: stack.functions.filter(Boolean).length,
      backlog: pending,
      p99: window[Math.min(window.length - 1, Math.floor(window.length * 0.99))] ?? 0,
    };
    lastIssued = issued;
    lastReady = readyAt.length;
    samples.push(sample);
    if (!acting) {
      const d = decideScale(state, pending, t * 1000, policy);
      if (d.replicas !== stack.functions.length) {
        const from = stack.functions.length;
        decisions.push({ t, from, to: d.replicas, why: d.why });
        console.log(`  ${t.toFixed(1)} s: ${from} -> ${d.replicas} replicas (${d.why})`);
        acting = (async () => {
          // New replicas start side by side (as pods would); leaving ones go one at a time.
          const add = Math.max(0, d.replicas - stack.functions.length);
          await Promise.all(Array.from({ length: add }, () => stack.addReplica()));
          while (stack.functions.length > d.replicas) await stack.removeReplica(1_000);
        })().finally(() => {
          acting = undefined;
        });
      }
      state = d.state;
    }
    console.log(
      `  ${t.toFixed(0).padStart(4)} s  offered ${sample.offered.toFixed(0).padStart(4)}/s  completed ${sample.completed
        .toFixed(0)
        .padStart(
          4,
        )}/s  backlog ${String(pending).padStart(5)}  replicas ${sample.replicas}  p99 ${sample.p99.toFixed(0)} ms`,
    );
    const allDone =
      issued === schedule.length && unanswered === 0 && readyAt.length + createErrors >= schedule.length;
    // After the load: run on until the autoscaler is back at its floor (the quiet period shown).
    if (
      (allDone && t > loadEnd && stack.functions.length === policy.minReplicas && !acting) ||
      t > drainUntil
    )
      break;
  }
  await loadDone;
  await acting;
  watchAbort.abort();
  await watchEnded;

  const verdict = await checkOutcome(stack, kube, issued - createErrors, 0);
  const clean = verdict.duplicates + verdict.leaked + verdict.orphanRows + verdict.violations === 0;
  const missing = issued - createErrors - readyAt.length;
  console.log(
    `\n${readyAt.length}/${issued} Vips Ready (${createErrors} creates refused), ${decisions.length} scaling steps, ` +
      `peak ${Math.max(...samples.map((s) => s.replicas))} replicas; audit: ${
        clean
          ? 'clean'
          : `${verdict.duplicates} duplicates, ${verdict.leaked} leaked, ${verdict.orphanRows} orphan rows, ${verdict.violations} other`
      }${missing ? `; ${missing} never Ready` : ''}`,
  );
  exitCode = clean && missing === 0 && createErrors === 0 ? 0 : 1;

  let from = 0;
  const bands = steps.map((s) => {
    const b = { from, to: from + s.seconds, label: `${s.rate} Vips/s offered` };
    from += s.seconds;
    return b;
  });
  const offeredSteps: [number, number][] = [];
  for (const b of bands)
    offeredSteps.push([b.from, Number(b.label.split(' ')[0])], [b.to, Number(b.label.split(' ')[0])]);
  offeredSteps.push([from, 0], [Math.max(from, samples.at(-1)?.t ?? from), 0]);
  const svg = renderChart({
    title: 'Autoscaler: replicas follow the relay backlog',
    subtitle: [
      `RTT ${rttMs} ms on every back-end connection of the functions, at most ${containerConcurrency} events per replica; ` +
        `target backlog ${policy.targetPerReplica} per replica, ${policy.minReplicas}-${policy.maxReplicas} replicas.`,
      `${readyAt.length} Vips, ${decisions.length} scaling steps, audit ${clean ? 'clean: no event lost' : 'NOT clean'}. ` +
        'One shared 2-core machine: indicative figures.',
    ],
    bands,
    panels: [
      {
        title: 'Vips per second',
        unit: 'Vips/s',
        series: [
          { name: 'offered', color: '#7f7f7f', points: offeredSteps, dashed: true },
          { name: 'completed (Ready)', color: '#1f77b4', points: samples.map((s) => [s.t, s.completed]) },
        ],
      },
      {
        title: 'Replicas',
        unit: 'replicas',
        height: 120,
        series: [
          { name: 'running', color: '#d62728', points: samples.map((s) => [s.t, s.replicas]), step: true },
          {
            name: 'wanted by backlog',
            color: '#ff7f0e',
            dashed: true,
            step: true,
            points: samples.map((s) => [s.t, desiredReplicas(s.backlog, policy)]),
          },
        ],
      },
      {
        title: 'Relay backlog (events not yet answered)',
        unit: 'events',
        height: 100,
        series: [{ name: 'backlog', color: '#9467bd', points: samples.map((s) => [s.t, s.backlog]) }],
      },
      {
        title: 'p99 create -> Ready (3 s window)',
        unit: 'ms',
        height: 120,
        series: [{ name: 'p99 latency', color: '#2ca02c', points: samples.map((s) => [s.t, s.p99]) }],
      },
    ],
  });
  if (values.svg) {
    writeFileSync(String(values.svg), svg);
    console.log(`chart written to ${values.svg}`);
  }
  if (values.json)
    writeFileSync(
      String(values.json),
      `${JSON.stringify({ rttMs, containerConcurrency, policy, steps, samples, decisions, verdict }, null, 2)}\n`,
    );
} finally {
  await stack.stop();
}
process.exit(exitCode);
