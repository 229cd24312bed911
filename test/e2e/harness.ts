// A whole local stack per test file (real Redis, real OVN NB, the development API server, function
// replicas as processes, the relay as a process), and the helpers scenarios need to drive it
// through the Kubernetes API and read the outcome from the API, Redis and OVN.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { kubectlBase } from '../../infra/dev-apiserver/kubectl.ts';
import { waitFor } from '../../infra/local/services.ts';
import { ROOT, type Stack, type StackOptions, startStack } from '../../infra/local/stack.ts';
import type { Pod, Vip } from '../../shared/domain/types.ts';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';
import { createKube, type Kube, type KubeObject } from '../../shared/kube/index.ts';

const run = promisify(execFile);

export interface E2E {
  stack: Stack;
  kube: Kube;
  allocator: Allocator;
  redis: Redis | Cluster;
  nbctl(...args: string[]): Promise<string>;
  kubectl(...args: string[]): Promise<string>;
  apply(obj: KubeObject): Promise<KubeObject>;
  /** `kubectl apply` of one object (kubectl sends built-in kinds like Namespace as it likes). */
  kubectlApply(obj: KubeObject): Promise<string>;
  applyExample(file: string): Promise<void>;
  vip(name: string): Promise<Vip | undefined>;
  pod(namespace: string, name: string): Promise<Pod | undefined>;
  /** Waits until the Vip satisfies `ok` (and returns it). */
  waitVip(name: string, ok: (v: Vip) => boolean, what?: string, timeoutMs?: number): Promise<Vip>;
  waitPod(namespace: string, name: string, ok: (p: Pod) => boolean, what?: string): Promise<Pod>;
  waitGone(kind: 'Vip' | 'Pod', name: string, namespace?: string): Promise<void>;
  /** Options of a logical switch port as a plain map (empty when the port is absent). */
  portOptions(name: string): Promise<Record<string, string> | undefined>;
  /** port_security of a logical switch port as ovn-nbctl prints it ('' when none; undefined when absent). */
  portSecurity(name: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export const readyCondition = (v: Vip) => v.status?.conditions?.find((c) => c.type === 'Ready');

export async function startE2E(opts: StackOptions = {}): Promise<E2E> {
  const stack = await startStack({ resync: '20s', admission: false, ...opts });
  const kube = createKube({ kubeconfigPath: stack.kubeconfig });
  const redis: Redis | Cluster = stack.redisUrl
    ? new Redis(stack.redisUrl)
    : new Cluster(stack.redisCluster!.startupNodes, { redisOptions: { password: stack.redisPassword } });
  const allocator = createRedisAllocator(redis);
  const nbDb = stack.nbRemote;
  const e2e: E2E = {
    stack,
    kube,
    allocator,
    redis,
    async nbctl(...args) {
      return (await run('ovn-nbctl', [`--db=${nbDb}`, '--timeout=10', ...args])).stdout;
    },
    async kubectl(...args) {
      return (await run('kubectl', [...kubectlBase(stack.kubeconfig), ...args], { timeout: 30_000 })).stdout;
    },
    async apply(obj) {
      const kind = obj.kind as Parameters<Kube['create']>[0];
      return kube.create(kind, obj);
    },
    async kubectlApply(obj) {
      const file = join(stack.dir, `apply-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(obj));
      return e2e.kubectl('apply', '-f', file);
    },
    async applyExample(file) {
      const docs = parseAllDocuments(readFileSync(`${ROOT}/examples/${file}`, 'utf8'));
      for (const d of docs) await e2e.apply(d.toJS() as KubeObject);
    },
    vip: (name) => kube.getVip(name),
    pod: (namespace, name) => kube.getPod(namespace, name),
    waitVip: (name, ok, what = 'condition', timeoutMs = 15_000) =>
      waitFor(
        `Vip ${name}: ${what}`,
        async () => {
          const v = await kube.getVip(name);
          return v && ok(v) ? v : undefined;
        },
        { timeoutMs, intervalMs: 50 },
      ),
    waitPod: (namespace, name, ok, what = 'condition') =>
      waitFor(
        `Pod ${namespace}/${name}: ${what}`,
        async () => {
          const p = await kube.getPod(namespace, name);
          return p && ok(p) ? p : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      ),
    async waitGone(kind, name, namespace) {
      await waitFor(
        `${kind} ${name} gone`,
        async () => (kind === 'Vip' ? !(await kube.getVip(name)) : !(await kube.getPod(namespace!, name))),
        { timeoutMs: 15_000, intervalMs: 50 },
      );
    },
    async portOptions(name) {
      const out = await e2e
        .nbctl('--bare', '--columns=options', 'find', 'logical_switch_port', `name=${JSON.stringify(name)}`)
        .catch(() => '');
      if (!out.trim()) return undefined;
      const opts: Record<string, string> = {};
      for (const m of out.trim().matchAll(/([\w-]+)=("[^"]*"|[^\s]+)/g))
        opts[m[1]!] = m[2]!.replace(/^"|"$/g, '');
      return opts;
    },
    async portSecurity(name) {
      const out = await e2e
        .nbctl(
          '--bare',
          '--columns=name,port_security',
          'find',
          'logical_switch_port',
          `name=${JSON.stringify(name)}`,
        )
        .catch(() => '');
      const [found, value] = out.split('\n');
      if (!found?.trim()) return undefined;
      return (value ?? '').trim().replace(/"/g, '');
    },
    async stop() {
      redis.disconnect();
      await stack.stop();
    },
  };
  return e2e;
}

export const vipObject = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec,
});

export const podObject = (
  namespace: string,
  name: string,
  opts: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  } = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace,
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    ...(opts.ownerReferences ? { ownerReferences: opts.ownerReferences } : {}),
  } as KubeObject['metadata'],
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

export const switchLbRuleObject = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'SwitchLBRule',
  metadata: { name },
  spec,
});

export const namespaceObject = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});
