// What `npm start` prints once the stack is up: where everything listens, where each log and each
// piece of data really is (they live in different directories), and commands that work as shown
// (ovn-nbctl gets every NB remote, so it also works while a Raft follower answers first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, type Stack } from './stack.ts';

/** Every log file the stack writes, by what writes it. */
export function stackLogs(stack: Stack): { what: string; path: string }[] {
  const logs = stack.functions.map((f, i) => ({ what: `function replica ${i}`, path: f.logFile }));
  stack.relays.forEach((r, i) => {
    logs.push({ what: stack.relays.length > 1 ? `relay ${i}` : 'relay', path: r.logFile });
  });
  // The development API server runs inside `npm start` itself.
  logs.push({ what: 'Kubernetes API', path: 'this terminal (it runs inside npm start)' });
  for (const r of redisServers(stack))
    logs.push({ what: `Redis :${r.port}`, path: join(r.dir, 'redis.log') });
  for (const n of nbServers(stack)) logs.push({ what: `OVN NB :${n.port}`, path: join(n.dir, 'nb.log') });
  if (stack.node)
    logs.push({ what: 'dataplane (OVN SB, northd, OVS): directory', path: join(stack.dir, 'node') });
  return logs;
}

/** Where the stack keeps its data (gone when the next `npm start` begins). */
export function stackData(stack: Stack): { what: string; path: string }[] {
  return [
    ...redisServers(stack).map((r) => ({ what: `Redis :${r.port} (append-only file)`, path: r.dir })),
    ...nbServers(stack).map((n) => ({ what: `OVN NB :${n.port}`, path: n.dbFile })),
  ];
}

const redisServers = (stack: Stack) => (stack.redis ? [stack.redis] : (stack.redisCluster?.nodes ?? []));
const nbServers = (stack: Stack) => (stack.nb ? [stack.nb] : (stack.nbRaft?.members ?? []));

export function stackBanner(stack: Stack, stackFile: string): string {
  const info = stack.describe();
  const redisAddress = stack.redis ? `redis://127.0.0.1:${stack.redis.port}` : String(info.redisClusterNodes);
  const table = (rows: { what: string; path: string }[]) =>
    rows.map((r) => `    ${r.what.padEnd(36)} ${r.path}`).join('\n');
  return `
The local stack is up. Everything listens on 127.0.0.1; details are in ${stackFile}.
In a shell: . .local/stack.env   (KUBECONFIG, NB, API, AUTH)

  Kubernetes API    ${stack.apiServer.url}
  kubeconfig        export KUBECONFIG=${stack.kubeconfig}
  functions         ${stack.functions.map((f) => `${f.url} (${f.runtime})`).join(', ')}   (Bearer token in ${join(stack.secretsDir, 'api-token')})
  relays            ${stack.relays.length > 1 ? `${stack.relays.length}, electing a leader through Lease default/vip-relay (kubectl get lease vip-relay -o yaml)` : '1 (no election; --relays 2 for two)'}
  OVN Northbound    ${stack.nbRemote}
  Redis             ${redisAddress}   (password in ${join(stack.secretsDir, 'redis-password')})
  secrets           ${stack.secretsDir}   (files, as a mounted Secret; none is on a command line)
  dataplane         ${stack.node ? `pods are network namespaces: ip netns exec vp-${stack.node.instance}-<pod>.<ns> ...` : 'off (not root, or --no-dataplane)'}

  logs
${table(stackLogs(stack))}
  data
${table(stackData(stack))}

Try it:
  . .local/stack.env
  kubectl apply -f examples/vip-dynamic-01.yaml -f examples/static-vip01.yaml
  kubectl get vip
  ovn-nbctl --db=${stack.nbRemote} show ovn-default
  curl -s -H @${join(stack.secretsDir, 'api-auth-header')} ${stack.functions[0]?.url}/v1/subnets/ovn-default
  kubectl describe vip static-vip01        # why a Vip is not Ready: docs/troubleshooting.md
  REDISCLI_AUTH=$(cat ${join(stack.secretsDir, 'redis-password')}) redis-cli -p ${stack.redis?.port ?? stack.redisCluster?.nodes[0]?.port ?? '<port>'} -c DBSIZE

Ctrl-C stops everything.`;
}

/**
 * A file a shell sources (`. .local/stack.env`) to reach the stack: KUBECONFIG, NB (every NB
 * remote, as `ovn-nbctl --db=` takes them), API (the first replica) and AUTH (a file holding its
 * bearer header, for `curl -H @$AUTH`). The README's runnable blocks start with it.
 */
export function writeStackEnv(stack: Stack, file = join(ROOT, '.local/stack.env')): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const lines = [
    '# Written by npm start; removed when it stops. Use: . .local/stack.env',
    `export KUBECONFIG=${q(stack.kubeconfig)}`,
    `export NB=${q(stack.nbRemote)}`,
    `export API=${q(stack.functions[0]?.url ?? '')}`,
    `export AUTH=${q(join(stack.secretsDir, 'api-auth-header'))}`,
  ];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}
