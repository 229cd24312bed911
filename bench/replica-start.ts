// `node --import tsx bench/replica-start.ts [checkout...]`: a function replica's start, step by
// step, next to PORTS Logical_Switch_Ports (default 60,000). Its own Redis, NB server (filled as
// bench/coldstart.bench.ts fills it) and development API server; the replica of each `checkout`
// (default this one; several alternate round by round, ROUNDS each, default 2, so that a busy
// machine weighs on them alike) is spawned, events (a Pod delete: an NB read by name) are sent
// from the moment /healthz answers (DELAY_MS later with DELAY_MS set: a relay notices a replica
// is back only at its next probe), and the times of spawn → /healthz → first handled event are
// printed with the replica's own start steps. CPU_PROF=dir adds `node --cpu-prof` output there;
// COMPILED=1 runs the checkout's dist/ (`npm run build`), as the benchmarks run replicas.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { freePort, makeTempDir, startNbServer, startRedis } from '../infra/local/services.ts';
import { encodeResourceEvent } from '../shared/events/encode.ts';
import { startTestApiServer } from '../test/kube/dev-server.ts';
import { fill } from './coldstart.bench.ts';

const PORTS = Number(process.env.PORTS ?? 60_000);
const checkouts = (process.argv.length > 2 ? process.argv.slice(2) : [join(import.meta.dirname, '..')]).map(
  (c) => resolve(c),
);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const DELAY_MS = Number(process.env.DELAY_MS ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = makeTempDir('vipres-replica-start-');
const redis = await startRedis({ dir: join(dir, 'redis') });
const nb = await startNbServer({ dir: join(dir, 'nb') });
const api = await startTestApiServer(randomBytes(8).toString('hex'));
try {
  await fill(nb.remote, PORTS);
  for (let i = 0; i < ROUNDS * checkouts.length; i++) {
    const round = Math.floor(i / checkouts.length) + 1;
    const checkout = checkouts[i % checkouts.length]!;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const prof = process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : [];
    const spawned = performance.now();
    const child = spawn(
      process.execPath,
      process.env.COMPILED
        ? [...prof, join(checkout, 'dist/functions/serve/node.js')]
        : [...prof, '--import', 'tsx', join(checkout, 'functions/serve/node.ts')],
      {
        cwd: checkout,
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          OVN_NB_REMOTES: nb.remote,
          KUBECONFIG: api.server.kubeconfigPath,
          EVENTS_TOKEN: 'bench',
          API_TOKEN: 'bench',
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    let healthy = Number.NaN;
    while (Number.isNaN(healthy)) {
      if (child.exitCode !== null) throw new Error(`replica exited: ${out}`);
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) healthy = performance.now() - spawned;
      else await sleep(10);
    }
    if (DELAY_MS > 0) await sleep(DELAY_MS);
    // As the relay does once the replica answers: its held events, at once.
    // A 503 (the NB read timed out under the load) is sent again, as the relay would.
    let retried = 0;
    const send = async (i: number): Promise<number> => {
      const ev = encodeResourceEvent(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `gone-${round}-${checkouts.indexOf(checkout)}-${i}`, namespace: 'bench' },
        },
        { action: 'delete', source: 'https://127.0.0.1' },
      );
      for (;;) {
        const r = await fetch(`${base}/events`, {
          method: 'POST',
          headers: { ...ev.headers, authorization: 'Bearer bench' },
          body: ev.body,
        });
        if (r.ok) return performance.now() - spawned;
        if (r.status !== 503) throw new Error(`event ${i}: ${r.status} ${await r.text()}`);
        retried++;
        await sleep(100);
      }
    };
    const times = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i))).finally(() =>
      child.kill('SIGTERM'),
    );
    console.log(
      `round ${round} (${checkout}): /healthz ${(healthy / 1000).toFixed(2)} s, first event ${(Math.min(...times) / 1000).toFixed(2)} s, 20 events ${(Math.max(...times) / 1000).toFixed(2)} s (${retried} answered 503 and were sent again); ${out.trim()}`,
    );
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
} finally {
  await api.stop();
  await redis.stop();
  await nb.stop();
}
process.exit(0);
