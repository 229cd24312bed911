// `npm start`: the whole local stack in the foreground until Ctrl-C, then everything it started
// is stopped. Flags: --replicas N, --redis-cluster, --nb-raft, --resync 30s, --runtime deno (the
// function replicas under Deno; `node,deno` alternates them). A daemon that dies in
// the meantime is restarted on its port and data, with a `[stack]` line saying why.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type FunctionRuntime, ROOT, startStack, writeStackFile } from './stack.ts';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1' },
    'redis-cluster': { type: 'boolean', default: false },
    'nb-raft': { type: 'boolean', default: false },
    resync: { type: 'string', default: '5m' },
    'no-dataplane': { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'node' },
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
  redis: values['redis-cluster'] ? 'cluster' : 'standalone',
  nb: values['nb-raft'] ? 'raft' : 'standalone',
  resync: values.resync,
  dataplane: !values['no-dataplane'],
  functionRuntime: runtimes as FunctionRuntime[],
  log: say,
});
const file = writeStackFile(stack);
const info = stack.describe();
const redisAddress = stack.redis ? `redis://127.0.0.1:${stack.redis.port}` : String(info.redisClusterNodes);

console.log(`
The local stack is up. Everything listens on 127.0.0.1; details are in ${file}.

  Kubernetes API    ${stack.apiServer.url}
  kubeconfig        export KUBECONFIG=${stack.kubeconfig}
  functions         ${stack.functions.map((f) => `${f.url} (${f.runtime})`).join(', ')}   (Bearer token in ${join(stack.secretsDir, 'api-token')})
  OVN Northbound    ${stack.nbRemote}
  Redis             ${redisAddress}   (password in ${join(stack.secretsDir, 'redis-password')})
  secrets           ${stack.secretsDir}   (files, as a mounted Secret; none is on a command line)
  logs              ${stack.dir}
  dataplane         ${stack.node ? `pods are network namespaces: ip netns exec vp-${stack.node.instance}-<pod>.<ns> ...` : 'off (not root, or --no-dataplane)'}

Try it:
  export KUBECONFIG=${stack.kubeconfig}
  kubectl apply -f examples/vip-dynamic-01.yaml -f examples/static-vip01.yaml
  kubectl get vip
  ovn-nbctl --db=${stack.nbRemote.split(',')[0]} show ovn-default
  curl -s -H @${join(stack.secretsDir, 'api-auth-header')} ${stack.functions[0]?.url}/v1/subnets/ovn-default
  REDISCLI_AUTH=$(cat ${join(stack.secretsDir, 'redis-password')}) redis-cli -p ${stack.redis?.port ?? '<port>'} -c DBSIZE

Ctrl-C stops everything.`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  await stack.stop();
  rmSync(file, { force: true });
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
