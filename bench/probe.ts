// `node --import tsx bench/probe.ts [--replicas 1] [--vips 2000] [--aap-every 0] [--count-requests]
// [--cpu-prof DIR] [--keep DIR]`: one scaling run (bench/scale.ts) with the diagnostics used to
// find where a Vip's time goes: Vips/s and latency, CPU ms per Vip by process, the API requests
// by verb and path (names folded), CPU profiles of the functions and the relay (add
// `node --cpu-prof` yourself for this process: the API server and the load generator), and the
// stack's logs kept in a directory. Run it compiled to measure what is deployed:
// `npx tsc -p tsconfig.build.json && node dist/bench/probe.js ...`.
import type { IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import { formatCpu } from './cpu.ts';
import { runScale } from './scale.ts';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1' },
    vips: { type: 'string', default: '2000' },
    'aap-every': { type: 'string', default: '0' },
    'count-requests': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    keep: { type: 'string' },
  },
});

/** `PATCH /apis/kubeovn.io/v1/vips/*\/status`: the request's shape without object names. */
function shapeOf(req: IncomingMessage): string {
  const [path = '', query = ''] = (req.url ?? '').split('?');
  const parts = path.split('/');
  // Collection paths end in a plural; an object's name follows it (and may have a subresource).
  const folded = parts.map((p, i) => (i > 0 && parts[i - 1] === 'namespaces' ? '*' : p));
  const api = folded[1] === 'api' ? 3 : 4; // /api/v1/... or /apis/group/version/...
  const start = folded[api] === 'namespaces' ? api + 2 : api;
  if (folded.length > start + 1) folded[start + 1] = '*';
  const kind = query.includes('watch=true')
    ? ' (watch)'
    : query.includes('labelSelector')
      ? ' (selector)'
      : '';
  return `${req.method} ${folded.join('/')}${kind}`;
}

const counts = new Map<string, number>();
const prof = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
const r = await runScale({
  replicas: Number(values.replicas),
  vips: Number(values.vips),
  aapEvery: Number(values['aap-every']),
  progress: console.log,
  stack: { functionNodeArgs: prof, relayNodeArgs: prof, ...(values.keep ? { dir: values.keep } : {}) },
  ...(values['count-requests']
    ? {
        onStack: (stack) => {
          stack.apiServer.api.onRequest = (req) => {
            const k = shapeOf(req);
            counts.set(k, (counts.get(k) ?? 0) + 1);
          };
        },
      }
    : {}),
});
console.log(
  `${r.vipsPerSecond.toFixed(0)} Vips/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms; audit: ` +
    `${r.duplicates} duplicates, ${r.leaked} leaked, ${r.orphanRows} orphan rows, ${r.violations} other`,
);
console.log(`CPU ms per Vip: ${formatCpu(r.cpuMsPerVip)}`);
if (values['count-requests']) {
  console.log('API requests (all, warm-up included):');
  for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(8)}  ${k}`);
}
process.exit(0);
