// Where `kubectl vip` finds the system. Kubernetes: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config (kubectl's own rule, so the plugin talks to the cluster kubectl does), else the
// local stack's. Redis, OVN NB and SB: flags, else the environment the functions use, else
// .local/stack.json (written by `npm start`).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Config, readConfig } from '../../shared/config.ts';

export interface ConnectionFlags {
  kubeconfig?: string | undefined;
  'redis-url'?: string | undefined;
  'redis-cluster'?: string | undefined;
  nb?: string | undefined;
  sb?: string | undefined;
  stack?: string | undefined;
}

export interface Connection {
  /** Ready for createPorts / createControllerPorts / openAuditPorts. */
  config: Config;
  /** OVN SB remotes, when known (the stack has an SB only with the dataplane). */
  sbRemotes?: string;
  /** Where each part came from, for error messages. */
  sources: { kube: string; redis: string; nb: string; sb: string };
}

type Env = Readonly<Record<string, string | undefined>>;

export function resolveConnection(flags: ConnectionFlags, env: Env, root: string): Connection {
  const stackFile = flags.stack ?? join(root, '.local/stack.json');
  const stack: Record<string, unknown> = existsSync(stackFile)
    ? JSON.parse(readFileSync(stackFile, 'utf8'))
    : {};
  const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const from = <T>(...c: [T | undefined, string][]): [T | undefined, string] =>
    c.find(([v]) => v !== undefined) ?? [undefined, 'none'];

  const homeConfig = join(env.HOME ?? homedir(), '.kube', 'config');
  const [kubeconfig, kubeSource] = from<string>(
    [str(flags.kubeconfig), '--kubeconfig'],
    [str(env.KUBECONFIG), 'KUBECONFIG'],
    [existsSync(homeConfig) ? homeConfig : undefined, '~/.kube/config'],
    [str(stack.kubeconfig), stackFile],
  );
  const rec = (key: string, v: unknown) => (str(v) ? { [key]: str(v)! } : undefined);
  const [redis, redisSource] = from<Record<string, string>>(
    [rec('REDIS_CLUSTER_NODES', flags['redis-cluster']), '--redis-cluster'],
    [rec('REDIS_URL', flags['redis-url']), '--redis-url'],
    [rec('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES), 'REDIS_CLUSTER_NODES'],
    [rec('REDIS_URL', env.REDIS_URL), 'REDIS_URL'],
    [rec('REDIS_URL', stack.redisUrl), stackFile],
    [rec('REDIS_CLUSTER_NODES', stack.redisClusterNodes), stackFile],
  );
  const [nb, nbSource] = from<string>(
    [str(flags.nb), '--nb'],
    [str(env.OVN_NB_REMOTES), 'OVN_NB_REMOTES'],
    [str(stack.nbRemote), stackFile],
  );
  const node = (stack.node ?? {}) as Record<string, unknown>;
  const [sb, sbSource] = from<string>(
    [str(flags.sb), '--sb'],
    [str(env.OVN_SB_REMOTES), 'OVN_SB_REMOTES'],
    [str(node.sbRemote), stackFile],
  );
  const config = readConfig({
    ...(redis ?? {}),
    OVN_NB_REMOTES: nb,
    KUBECONFIG: kubeconfig,
    KEEP_VM_IP: env.KEEP_VM_IP,
    // The reconcilers' log (audit --repair) would mix into the output.
    LOG_LEVEL: 'silent',
  });
  return {
    config,
    ...(sb ? { sbRemotes: sb } : {}),
    sources: { kube: kubeSource, redis: redis ? redisSource : 'none', nb: nbSource, sb: sbSource },
  };
}
