// The development API server on its own (`npm run bench -- apiserver`): what the stand-in for
// kube-apiserver costs when it holds the objects of a large cluster, apart from the handlers.
// It runs as a separate process (apiserver-process.ts) so its CPU, RSS and heap are its own.
// Phases, one run: create BENCH_APISERVER_OBJECTS objects (half Pods over 10 namespaces, half Vips)
// from BENCH_APISERVER_CLIENTS concurrent clients; random GETs; a list of all pods paged by 500;
// a list with a label selector (1% of the pods); WATCHERS watches of each kind receiving a burst of
// BENCH_APISERVER_BURST patches. Memory is read after a full GC in the server process.
import { type ChildProcess, fork } from 'node:child_process';
import { Client, Pool } from 'undici';

const TOTAL = Number(process.env.BENCH_APISERVER_OBJECTS ?? 200_000);
const CLIENTS = Number(process.env.BENCH_APISERVER_CLIENTS ?? 50);
const BURST = Number(process.env.BENCH_APISERVER_BURST ?? 3_000);
const WATCHERS = Number(process.env.BENCH_APISERVER_WATCHERS ?? 3);
const GETS = 5_000;
const PAGE = 500;
const NAMESPACES = 10;
const APPS = 100;

interface Stats {
  rss: number;
  heapUsed: number;
  external: number;
  cpuMs: number;
}

class ServerProcess {
  private next = 0;
  private readonly waiting = new Map<number, (s: Stats) => void>();
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: Stats & { id?: number }) => {
      if (m.id !== undefined) this.waiting.get(m.id)?.(m);
    });
  }
  stats(): Promise<Stats> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, cmd: 'stats' });
    });
  }
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ cmd: 'stop' });
      // Stopped by its pid if it does not stop on its own.
      setTimeout(() => this.child.kill('SIGKILL'), 10_000).unref();
    });
  }
}

async function startServer(): Promise<{ proc: ServerProcess; url: string; token: string; ca: string }> {
  const compiled = import.meta.url.endsWith('.js');
  const file = new URL(`./apiserver-process.${compiled ? 'js' : 'ts'}`, import.meta.url).pathname;
  const child = fork(file, [], {
    execArgv: [
      ...(compiled ? [] : ['--import', 'tsx']),
      '--expose-gc',
      '--max-old-space-size=8192',
      // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the server alone
      ...(process.env.BENCH_APISERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; token: string; ca: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; token: string; ca: string }));
    child.once('exit', (code) => reject(new Error(`the API server process exited (${code})`)));
  });
  return { proc: new ServerProcess(child), ...ready };
}

const ip = (i: number) => `10.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const mac = (i: number) =>
  `0a:00:00:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

/** A pod as kube-ovn leaves it: its address annotations, one container, Running. */
const pod = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `pod-${i}`,
    namespace: `bench-${i % NAMESPACES}`,
    labels: { app: `app-${i % APPS}`, 'pod-template-hash': '5d8f7c9b6' },
    annotations: {
      'ovn.kubernetes.io/allocated': 'true',
      'ovn.kubernetes.io/cidr': '10.16.0.0/12',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/ip_address': ip(i),
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/mac_address': mac(i),
      'ovn.kubernetes.io/pod_nic_type': 'veth-pair',
      'ovn.kubernetes.io/routed': 'true',
    },
  },
  spec: {
    nodeName: `node-${i % 20}`,
    containers: [
      {
        name: 'app',
        image: 'registry.k8s.io/pause:3.10',
        resources: { requests: { cpu: '10m', memory: '16Mi' } },
      },
    ],
  },
  status: { phase: 'Running', podIP: ip(i) },
});

const vip = (i: number) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name: `vip-${i}`, labels: { app: `app-${i % APPS}` } },
  spec: { subnet: 'ovn-default', namespace: `bench-${i % NAMESPACES}`, type: '' },
});

const podPath = (i: number) => `/api/v1/namespaces/bench-${i % NAMESPACES}/pods`;
const VIPS = '/apis/kubeovn.io/v1/vips';

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** Runs op(i) for i in [0, n) from `clients` concurrent loops; latencies in ms. */
async function drive(n: number, clients: number, op: (i: number) => Promise<void>) {
  let next = 0;
  const lat: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const ms = performance.now() - start;
  lat.sort((a, b) => a - b);
  return { ms, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

interface Row {
  phase: string;
  count: number;
  ms: number;
  p50?: number;
  p99?: number;
  cpuPerReq?: number;
  stats: Stats;
}

export async function run(): Promise<void> {
  const { proc, url, token, ca } = await startServer();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const pool = new Pool(url, { connections: CLIENTS, connect: { ca }, pipelining: 1 });
  const call = async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, type?: string) => {
    const res = await pool.request({
      method,
      path,
      headers: type ? { ...headers, 'content-type': type } : headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return text;
  };
  const rows: Row[] = [];
  const phase = async (
    name: string,
    count: number,
    work: () => Promise<{ ms: number; p50?: number; p99?: number }>,
    requests = count,
  ) => {
    const before = await proc.stats();
    const r = await work();
    const stats = await proc.stats();
    rows.push({ phase: name, count, ...r, cpuPerReq: (stats.cpuMs - before.cpuMs) / requests, stats });
  };
  try {
    await call('POST', '/apis/kubeovn.io/v1/subnets', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'ovn-default' },
      spec: { cidrBlock: '10.16.0.0/12', gateway: '10.16.0.1' },
    });
    for (let n = 0; n < NAMESPACES; n++)
      await call('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: `bench-${n}` },
      });
    const empty = await proc.stats();
    rows.push({ phase: 'empty (CRDs, 10 namespaces)', count: 0, ms: 0, stats: empty });

    let jsonBytes = 0;
    await phase(`create (${CLIENTS} clients)`, TOTAL, () =>
      drive(TOTAL, CLIENTS, async (i) => {
        const text =
          i % 2 === 0
            ? await call('POST', podPath(i >> 1), pod(i >> 1))
            : await call('POST', VIPS, vip(i >> 1));
        jsonBytes += Buffer.byteLength(text);
      }),
    );
    const held = rows[rows.length - 1]?.stats as Stats;
    const pods = Math.ceil(TOTAL / 2);
    const vips = TOTAL - pods;

    await phase(`get by name (${CLIENTS} clients)`, GETS, () =>
      drive(GETS, CLIENTS, async (k) => {
        const i = (k * 7919) % pods;
        await call('GET', `${podPath(i)}/pod-${i}`);
      }),
    );

    let pages = 0;
    await phase(
      `list all pods, pages of ${PAGE}`,
      pods,
      async () => {
        const lat: number[] = [];
        const start = performance.now();
        let seen = 0;
        let cont = '';
        do {
          const t = performance.now();
          const page = JSON.parse(
            await call(
              'GET',
              `/api/v1/pods?limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
            ),
          ) as { items: unknown[]; metadata: { continue?: string } };
          lat.push(performance.now() - t);
          seen += page.items.length;
          pages++;
          cont = page.metadata.continue ?? '';
        } while (cont);
        if (seen !== pods) throw new Error(`the paged list returned ${seen} pods, not ${pods}`);
        lat.sort((a, b) => a - b);
        return { ms: performance.now() - start, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
      },
      Math.ceil(pods / PAGE),
    );

    await phase(
      'list all pods in one answer (a relist)',
      pods,
      async () => {
        const start = performance.now();
        const list = JSON.parse(await call('GET', '/api/v1/pods')) as { items: unknown[] };
        if (list.items.length !== pods)
          throw new Error(`the list returned ${list.items.length} pods, not ${pods}`);
        const ms = performance.now() - start;
        return { ms, p50: ms, p99: ms };
      },
      1,
    );

    const selected = Array.from({ length: pods }, (_, i) => i).filter((i) => i % APPS === 7).length;
    const reps = 10;
    await phase(
      `list pods app=app-7 (${selected}), x${reps}`,
      selected,
      async () => {
        const lat: number[] = [];
        const start = performance.now();
        for (let r = 0; r < reps; r++) {
          const t = performance.now();
          const list = JSON.parse(await call('GET', '/api/v1/pods?labelSelector=app%3Dapp-7')) as {
            items: unknown[];
          };
          lat.push(performance.now() - t);
          if (list.items.length !== selected)
            throw new Error(`the selector matched ${list.items.length}, not ${selected}`);
        }
        lat.sort((a, b) => a - b);
        return { ms: performance.now() - start, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
      },
      reps,
    );

    const watchRows = await watchBurst(url, token, ca, call, pods, vips);
    await phase(`watch: burst of ${BURST} patches, ${WATCHERS} watches per kind`, BURST, async () =>
      watchRows(),
    );

    const done = rows.map((r) => ({
      phase: r.phase,
      count: r.count,
      s: (r.ms / 1000).toFixed(2),
      'per s': r.ms > 0 ? Math.round((r.count / r.ms) * 1000) : '',
      'p50 ms': r.p50?.toFixed(1) ?? '',
      'p99 ms': r.p99?.toFixed(1) ?? '',
      'server CPU ms/req': r.cpuPerReq?.toFixed(3) ?? '',
      'RSS MB': (r.stats.rss / 2 ** 20).toFixed(0),
      'heap MB': (r.stats.heapUsed / 2 ** 20).toFixed(0),
    }));
    console.table(done);
    const perObject = (held.heapUsed + held.external - empty.heapUsed - empty.external) / TOTAL;
    console.log(
      `${TOTAL} objects (${pods} pods, ${vips} vips): heap+external ${Math.round(perObject)} B per object, ` +
        `their JSON ${Math.round(jsonBytes / TOTAL)} B on average (${(perObject / (jsonBytes / TOTAL)).toFixed(2)}x); ` +
        `RSS ${Math.round((held.rss - empty.rss) / TOTAL)} B per object; ${pages} pages listed`,
    );
  } finally {
    await pool.close();
    await proc.stop();
  }
}

/**
 * Opens the watches (from the current resourceVersion, no initial events), then returns the burst:
 * BURST merge patches of a label, alternating pods and vips; each event's latency is from the
 * patch being sent to the event line arriving, for every watch.
 */
async function watchBurst(
  url: string,
  token: string,
  ca: string,
  call: (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, type?: string) => Promise<string>,
  pods: number,
  vips: number,
): Promise<() => Promise<{ ms: number; p50: number; p99: number }>> {
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const expected = BURST * WATCHERS;
  let received = 0;
  let allIn: () => void = () => {};
  const finished = new Promise<void>((r) => {
    allIn = r;
  });
  const clients: Client[] = [];
  const rv = (path: string) =>
    call('GET', `${path}?limit=1`).then(
      (t) => (JSON.parse(t) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
    );
  for (const path of ['/api/v1/pods', VIPS]) {
    for (let w = 0; w < WATCHERS; w++) {
      const client = new Client(url, { connect: { ca }, bodyTimeout: 0, headersTimeout: 0 });
      clients.push(client);
      const res = await client.request({
        method: 'GET',
        path: `${path}?watch=true&resourceVersion=${await rv(path)}`,
        headers: { authorization: `Bearer ${token}` },
      });
      let buf = '';
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          const ev = JSON.parse(line) as {
            object: { kind: string; metadata: { name: string; labels?: Record<string, string> } };
          };
          const at = sent.get(`${ev.object.kind}/${ev.object.metadata.name}`);
          if (at === undefined || !ev.object.metadata.labels?.burst) continue;
          lat.push(performance.now() - at);
          if (++received === expected) allIn();
        }
      });
      res.body.on('error', () => {});
    }
  }
  return async () => {
    const start = performance.now();
    await drive(BURST, CLIENTS, async (k) => {
      const isPod = k % 2 === 0;
      const i = isPod ? (k >> 1) % pods : (k >> 1) % vips;
      sent.set(`${isPod ? 'Pod' : 'Vip'}/${isPod ? 'pod' : 'vip'}-${i}`, performance.now());
      await call(
        'PATCH',
        isPod ? `${podPath(i)}/pod-${i}` : `${VIPS}/vip-${i}`,
        { metadata: { labels: { burst: String(k) } } },
        'application/merge-patch+json',
      );
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
    const ms = performance.now() - start;
    for (const c of clients) await c.destroy();
    if (received < expected) throw new Error(`the watches got ${received} of ${expected} events`);
    lat.sort((a, b) => a - b);
    return { ms, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
  };
}
