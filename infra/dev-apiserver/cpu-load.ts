// CPU per request of the development API server under the request mix of one Vip: the server runs
// in this process, the client in a child, so process.cpuUsage() here is the server's alone.
//   npx tsx infra/dev-apiserver/cpu-load.ts [vips=5000] [inFlight=32] [watchers=2]
// Per Vip: POST, GET, metadata merge patch with a resourceVersion precondition, two status merge
// patches; every watcher gets ADDED + 3 MODIFIED.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevApiServer } from './index.ts';

const CRD = fileURLToPath(new URL('../manifests/crds/vips.kubeovn.io.yaml', import.meta.url));
const PHASES = ['create', 'statusPatch', 'vipFlow'] as const;
type Phase = (typeof PHASES)[number];

type ToChild = { url: string; token: string; ca: string; vips: number; inFlight: number; watchers: number };
type ToParent = { phase: Phase; at: 'start' | 'end'; requests: number; events: number };

async function parent(): Promise<void> {
  const [vips = 5000, inFlight = 32, watchers = 2] = process.argv.slice(2).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-load-'));
  const server = await startDevApiServer({ dir, token: 'load', crdFiles: [CRD] });
  const child = fork(fileURLToPath(import.meta.url), ['client'], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const msg: ToChild = { url: server.url, token: 'load', ca: server.ca, vips, inFlight, watchers };
  let mark = process.cpuUsage();
  let t0 = performance.now();
  const rows: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: ToParent) => {
      if (m.at === 'start') {
        mark = process.cpuUsage();
        t0 = performance.now();
        return;
      }
      const used = process.cpuUsage(mark);
      const ms = (used.user + used.system) / 1000;
      const wall = performance.now() - t0;
      rows.push(
        `${m.phase.padEnd(12)} ${m.requests} requests, ${m.events} watch events: ` +
          `${((ms * 1000) / m.requests).toFixed(1)} µs CPU/request (${((used.system / (used.user + used.system)) * 100).toFixed(0)}% system), ${(ms / vips).toFixed(3)} ms/Vip, ` +
          `${((m.requests / wall) * 1000).toFixed(0)} req/s`,
      );
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`client exited ${code}`))));
    child.send(msg);
  });
  console.log(rows.join('\n'));
  console.log(`${server.connectionCount()} TLS connections`);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function client(cfg: ToChild): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: cfg.inFlight, ca: cfg.ca });
  const base = new URL(cfg.url);
  const call = (method: string, path: string, body?: unknown, type = 'application/json') =>
    new Promise<{ status: number; json: { metadata?: { resourceVersion?: string } } }>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${cfg.token}`,
            accept: 'application/json',
            ...(text ? { 'content-type': type, 'content-length': Buffer.byteLength(text) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode}`));
            else resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });

  let events = 0;
  for (let w = 0; w < cfg.watchers; w++) {
    const watchAgent = new Agent({ keepAlive: true, ca: cfg.ca });
    await new Promise<void>((resolve, reject) => {
      request(
        {
          agent: watchAgent,
          host: base.hostname,
          port: base.port,
          path: '/apis/kubeovn.io/v1/vips?watch=true&allowWatchBookmarks=true',
          headers: { authorization: `Bearer ${cfg.token}` },
        },
        (res) => {
          res.on('data', (c: Buffer) => {
            for (const b of c) if (b === 10) events++;
          });
          resolve();
        },
      )
        .on('error', reject)
        .end();
    });
  }
  const path = '/apis/kubeovn.io/v1/vips';
  const vip = (name: string) => ({
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: 'ovn-default' },
  });
  const labels = (rv: string | undefined) => ({
    metadata: {
      resourceVersion: rv,
      labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', 'ovn.kubernetes.io/vip_type': 'vip' },
      finalizers: ['kube-ovn-controller'],
    },
  });
  const status = (i: number, ready: boolean) => ({
    status: {
      v4ip: `10.16.${(i >> 8) & 255}.${i & 255}`,
      mac: '00:00:00:12:34:56',
      ready,
      conditions: [{ type: 'Ready', status: String(ready), reason: ready ? 'Allocated' : 'Pending' }],
    },
  });
  const merge = 'application/merge-patch+json';
  const run = async (count: number, one: (i: number) => Promise<number>) => {
    let next = 0;
    let requests = 0;
    await Promise.all(
      Array.from({ length: cfg.inFlight }, async () => {
        while (next < count) {
          const n = await one(next++);
          requests += n;
        }
      }),
    );
    return requests;
  };
  const waitEvents = async (want: number) => {
    while (events < want) await new Promise((r) => setTimeout(r, 5));
  };
  const phase = async (name: Phase, one: (i: number) => Promise<number>, eventsPerVip: number) => {
    const before = events;
    process.send?.({ phase: name, at: 'start', requests: 0, events: 0 } satisfies ToParent);
    const requests = await run(cfg.vips, one);
    await waitEvents(before + eventsPerVip * cfg.vips * cfg.watchers);
    process.send?.({ phase: name, at: 'end', requests, events: events - before } satisfies ToParent);
  };
  // Warm-up: JIT and connections, not measured.
  await run(500, async (i) => {
    await call('POST', path, vip(`warm-${i}`));
    await call('PATCH', `${path}/warm-${i}/status`, status(i, true), merge);
    return 2;
  });
  await phase('create', (i) => call('POST', path, vip(`a-${i}`)).then(() => 1), 1);
  await phase(
    'statusPatch',
    (i) => call('PATCH', `${path}/a-${i}/status`, status(i, true), merge).then(() => 1),
    1,
  );
  await phase(
    'vipFlow',
    async (i) => {
      const name = `b-${i}`;
      await call('POST', path, vip(name));
      const got = await call('GET', `${path}/${name}`);
      await call('PATCH', `${path}/${name}`, labels(got.json.metadata?.resourceVersion), merge);
      await call('PATCH', `${path}/${name}/status`, status(i, false), merge);
      await call('PATCH', `${path}/${name}/status`, status(i, true), merge);
      return 5;
    },
    4,
  );
  process.exit(0);
}

if (process.argv[2] === 'client') process.once('message', (m: ToChild) => void client(m));
else await parent();
