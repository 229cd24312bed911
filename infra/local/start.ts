// `npm start`: the whole local stack in the foreground until Ctrl-C, then everything it started
// is stopped. Flags: --replicas N, --relays N (leader election), --redis-cluster, --nb-raft,
// --resync 30s, --runtime deno (the function replicas under Deno; `node,deno` alternates them),
// --log-level warn (default info, or LOG_LEVEL: info logs one line per event per replica).
// A daemon that dies in
// the meantime is restarted on its port and data, with a `[stack]` line saying why.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stackBanner, writeStackEnv } from './banner.ts';
import { type FunctionRuntime, ROOT, startStack, writeStackFile } from './stack.ts';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1' },
    // More than one: the relays elect a leader through a Lease; only it delivers.
    relays: { type: 'string', default: '1' },
    'redis-cluster': { type: 'boolean', default: false },
    'nb-raft': { type: 'boolean', default: false },
    resync: { type: 'string', default: '5m' },
    'no-dataplane': { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'node' },
    // One line per event per replica at info; warn keeps only what went wrong.
    'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
  },
});
const runtimes = values.runtime.split(',').map((r) => r.trim());
for (const r of runtimes) {
  if (r !== 'node' && r !== 'deno') {
    console.error(
      `--runtime: expected node, deno or a list of them (e.g. node,deno), got ${JSON.stringify(r)}`,
    );
    process.exit(2);
  }
}

const say = (line: string) => console.log(`[stack] ${line}`);
// Each run starts clean: the development API server keeps its objects in memory, so data left in
// Redis or NB by an earlier run would describe objects that no longer exist.
rmSync(join(ROOT, '.local/run'), { recursive: true, force: true });
const stack = await startStack({
  dir: join(ROOT, '.local/run'),
  replicas: Number(values.replicas),
  relays: Number(values.relays),
  redis: values['redis-cluster'] ? 'cluster' : 'standalone',
  nb: values['nb-raft'] ? 'raft' : 'standalone',
  resync: values.resync,
  dataplane: !values['no-dataplane'],
  functionRuntime: runtimes as FunctionRuntime[],
  functionEnv: { LOG_LEVEL: values['log-level'] },
  log: say,
});
const file = writeStackFile(stack);
const envFile = writeStackEnv(stack);
console.log(stackBanner(stack, file));

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  await stack.stop();
  rmSync(file, { force: true });
  rmSync(envFile, { force: true });
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
