// One scaling run: a stack with R function replicas, N Vips created through the API server (one in
// `aapEvery` an AAP Vip with a pod asking for it), and the time from each create to the Vip being
// Ready as seen by a watch. Shared by `npm run demo:scale` and the end-to-end bench.
import { KubeConfig } from '@kubernetes/client-node';
import { type Stack, type StackOptions, startStack } from '../infra/local/stack.ts';
import { kubeTransport } from '../infra/relay/kube-transport.ts';
import { openAuditPorts } from '../infra/wiring/audit.ts';
import { auditSystemSettled } from '../shared/audit/index.ts';
import { readConfig } from '../shared/config.ts';
import { createKube } from '../shared/kube/index.ts';
import { type CpuSample, cpuPerUnit, machineBusy, sampleCpu } from './cpu.ts';

export interface ScaleOptions {
  replicas: number;
  vips: number;
  /** One AAP Vip (with a parent pod) in this many; 0 = none. */
  aapEvery?: number;
  /** Creates in flight at once (the offered load is as fast as the API server takes them). */
  concurrency?: number;
  /** Instead of as fast as possible: this many creates per second. */
  ratePerSecond?: number;
  stack?: StackOptions;
  /**
   * Latency-bound mode: this round trip (ms) on every connection the functions make, and at most
   * `containerConcurrency` events in flight per replica (the relay's per-sink cap, unbatched).
   */
  latency?: { rttMs: number; containerConcurrency: number };
  progress?: (line: string) => void;
  /** Called once the stack is up, before anything is measured (diagnostics hook in). */
  onStack?: (stack: Stack) => void;
}

export interface ScaleResult {
  replicas: number;
  vips: number;
  seconds: number;
  vipsPerSecond: number;
  p50: number;
  p99: number;
  duplicates: number;
  leaked: number;
  orphanRows: number;
  violations: number;
  /** CPU milliseconds per Vip in each process (`self`: the API server and the load generator). */
  cpuMsPerVip: Record<string, number>;
  /** TLS connections the API server accepted during the measured window (kept-alive clients: few). */
  apiConnections: number;
  /** API server requests per Vip in the measured window: writes (POST/PUT/PATCH/DELETE) and reads. */
  apiWritesPerVip: number;
  apiReadsPerVip: number;
  /** Cores our processes kept busy on average over the measured window. */
  coresBusy: number;
  /** Share of the whole machine busy over the window (other users of the machine included). */
  machineBusy: number;
}

/** Stack options of latency-bound mode: RTT through proxies, one event per request, a per-replica cap. */
export function latencyStack(latency: ScaleOptions['latency']): StackOptions {
  if (!latency) return {};
  return {
    functionRttMs: latency.rttMs,
    // Knative's containerConcurrency, enforced where the requests queue: the relay's per-sink cap.
    relayArgs: ['--max-batch', '1', '--max-in-flight', String(latency.containerConcurrency)],
  };
}

const WARMUP_VIPS = 200;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const say = opts.progress ?? (() => {});
  const stack = await startStack({
    replicas: opts.replicas,
    admission: false,
    resync: '5m',
    ...latencyStack(opts.latency),
    ...opts.stack,
  });
  opts.onStack?.(stack);
  // Requests to the API server by kind, the load generator's own creates included (one per Vip).
  const requests = { writes: 0, reads: 0, counting: false };
  const before = stack.apiServer.api.onRequest;
  stack.apiServer.api.onRequest = (req) => {
    before?.(req);
    if (!requests.counting || (req.url ?? '').includes('watch=true')) return;
    if (req.method === 'GET') requests.reads++;
    else requests.writes++;
  };
  const kube = createKube({ kubeconfigPath: stack.kubeconfig });
  try {
    const created = new Map<string, number>();
    const ready = new Map<string, number>();
    let resolveAll!: () => void;
    const allReady = new Promise<void>((r) => {
      resolveAll = r;
    });
    const kc = new KubeConfig();
    kc.loadFromFile(stack.kubeconfig);
    // The readiness watch is the measuring instrument: the relay's lean transport, so it costs
    // the machine little next to the system it measures.
    const watchAbort = new AbortController();
    const watchEnded = kubeTransport(kc).watch(
      '/apis/kubeovn.io/v1/vips',
      { allowWatchBookmarks: 'true' },
      (line) => {
        const obj = line.object as { metadata?: { name?: string }; status?: { ready?: boolean } };
        const name = obj.metadata?.name;
        if (!name || name.startsWith('warmup-')) return;
        if (obj.status?.ready && !ready.has(name)) {
          ready.set(name, performance.now());
          if (ready.size === opts.vips) resolveAll();
        }
      },
      watchAbort.signal,
    );

    // Warm-up, not measured: the first requests of fresh processes pay for JIT compilation and
    // for opening the connections a burst needs, so the warm-up is a burst of its own.
    await Promise.all(
      Array.from({ length: WARMUP_VIPS }, (_, i) =>
        kube.create('Vip', {
          apiVersion: 'kubeovn.io/v1',
          kind: 'Vip',
          metadata: { name: `warmup-${i}` },
          spec: { subnet: 'ovn-default' },
        }),
      ),
    );
    while ((await kube.listVips()).filter((v) => v.status?.ready).length < WARMUP_VIPS)
      await new Promise((r) => setTimeout(r, 50));

    const aapEvery = opts.aapEvery ?? 10;
    const names = Array.from({ length: opts.vips }, (_, i) => `scale-${String(i).padStart(5, '0')}`);
    const sample = (): CpuSample =>
      sampleCpu({
        functions: stack.functions.map((f) => f.pid),
        ...(stack.relay ? { relay: stack.relay.pid } : {}),
        ...(stack.redis ? { redis: stack.redis.pid } : {}),
        ...(stack.nb ? { nb: stack.nb.pid } : {}),
      });
    const cpuBefore = sample();
    const machineBefore = machineBusy();
    const connectionsBefore = stack.apiServer.connectionCount();
    requests.counting = true;
    const start = performance.now();
    let next = 0;
    const interval = opts.ratePerSecond ? 1000 / opts.ratePerSecond : 0;
    const createOne = async (i: number) => {
      const name = names[i]!;
      const aap = aapEvery > 0 && i % aapEvery === 0;
      if (interval) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      created.set(name, performance.now());
      await kube.create('Vip', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name },
        spec: aap
          ? { subnet: 'ovn-default', namespace: 'default', selector: [`vip: ${name}`] }
          : { subnet: 'ovn-default' },
      });
      if (aap) {
        await kube.create('Pod', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `parent-${name}`,
            namespace: 'default',
            labels: { vip: name },
            annotations: { 'ovn.kubernetes.io/aaps': name },
          },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        });
      }
    };
    // Latency-bound, the offered load must outrun every replica's cap, or the load generator is the limit.
    const concurrency = opts.ratePerSecond
      ? opts.vips
      : (opts.concurrency ??
        (opts.latency ? Math.max(32, 2 * opts.replicas * opts.latency.containerConcurrency) : 32));
    const ticker = setInterval(
      () => say(`  created ${created.size}/${opts.vips}, ready ${ready.size}`),
      Number(process.env.SCALE_TICK_MS ?? 2000),
    );
    await Promise.all(
      Array.from({ length: Math.min(concurrency, opts.vips) }, async () => {
        while (next < names.length) await createOne(next++);
      }),
    );
    const timeout = setTimeout(() => resolveAll(), 120_000);
    await allReady;
    clearTimeout(timeout);
    clearInterval(ticker);
    const end = Math.max(...ready.values());
    const cpuMsPerVip = cpuPerUnit(cpuBefore, sample(), ready.size);
    const machine = machineBusy(machineBefore);
    requests.counting = false;
    const apiConnections = stack.apiServer.connectionCount() - connectionsBefore;
    watchAbort.abort();
    await watchEnded;

    const lat = names
      .filter((n) => ready.has(n))
      .map((n) => ready.get(n)! - created.get(n)!)
      .sort((a, b) => a - b);
    const verdict = await checkOutcome(stack, kube, opts.vips);
    const seconds = (end - start) / 1000;
    const cpuMs = Object.values(cpuMsPerVip).reduce((a, b) => a + b, 0) * ready.size;
    return {
      coresBusy: cpuMs / 1000 / seconds,
      apiWritesPerVip: requests.writes / Math.max(1, ready.size),
      apiReadsPerVip: requests.reads / Math.max(1, ready.size),
      machineBusy: machine.share,
      replicas: opts.replicas,
      vips: ready.size,
      seconds: (end - start) / 1000,
      vipsPerSecond: ready.size / ((end - start) / 1000),
      p50: pct(lat, 0.5),
      p99: pct(lat, 0.99),
      ...verdict,
      cpuMsPerVip,
      apiConnections,
    };
  } finally {
    await stack.stop();
  }
}

/**
 * The verdict of the system's own audit (shared/audit), which compares the API server, Redis and
 * OVN NB: duplicate addresses, leaked reservations, orphan NB rows, and every other drift.
 */
export async function checkOutcome(
  stack: Stack,
  kube: ReturnType<typeof createKube>,
  expected: number,
  warmup = WARMUP_VIPS,
) {
  const vips = await kube.listVips();
  if (vips.length !== expected + warmup)
    throw new Error(`expected ${expected} Vips and ${warmup} warm-up ones, found ${vips.length}`);
  const ports = await openAuditPorts(
    readConfig({ REDIS_URL: stack.redisUrl, OVN_NB_REMOTES: stack.nbRemote, KUBECONFIG: stack.kubeconfig }),
  );
  try {
    const { drifts } = await auditSystemSettled(ports, { rounds: 2, delayMs: 500 });
    const count = (...kinds: string[]) => drifts.filter((d) => kinds.includes(d.kind)).length;
    const duplicates = count('duplicate-address');
    const leaked = count('leaked-reservation');
    const orphanRows = count('orphan-port', 'orphan-lb');
    return { duplicates, leaked, orphanRows, violations: drifts.length - duplicates - leaked - orphanRows };
  } finally {
    await ports.close();
  }
}
