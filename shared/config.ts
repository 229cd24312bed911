// Configuration from the environment. Entry points pass their runtime's env as a plain object
// (process.env on Node, Deno.env.toObject() on Deno, the bindings on Workers), so this stays pure.

export type RedisConfig =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };

export interface Config {
  readonly redis: RedisConfig;
  /** Bearer token the reservation API requires (API_TOKEN). */
  readonly apiToken?: string | undefined;
  /** Listen port for the HTTP entry points (PORT, default 8080). */
  readonly port: number;
  /** Listen address (HOST, default 127.0.0.1). */
  readonly host: string;
  /** OVN NB remotes, comma-separated as `ovn-nbctl --db=` takes them (OVN_NB_REMOTES). */
  readonly nbRemotes?: string | undefined;
  /** kubeconfig path (KUBECONFIG); absent inside a cluster = in-cluster service account. */
  readonly kubeconfig?: string | undefined;
  /** HMAC secret of the relay's signed events (RELAY_SECRET). */
  readonly relaySecret?: string | undefined;
  /** Bearer token accepted on /events, for senders that cannot sign, e.g. Knative (EVENTS_TOKEN). */
  readonly eventsToken?: string | undefined;
  /** Body cap of POST /events in bytes (EVENTS_MAX_BYTES; unset = the endpoint's default, 16 MiB). */
  readonly eventsMaxBytes?: number | undefined;
  /** Events per batch on POST /events (EVENTS_MAX_BATCH; unset = 256; the relay sends up to 64). */
  readonly eventsMaxBatch?: number | undefined;
  /** kube-ovn's keep-vm-ip (KEEP_VM_IP, default true). */
  readonly keepVmIp: boolean;
  /** pino level (LOG_LEVEL, default info). */
  readonly logLevel: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export function readConfig(env: Env): Config {
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  const redis: RedisConfig = nodes
    ? {
        kind: 'cluster',
        nodes: nodes.split(',').map((hp) => {
          const [host, port] = hp.trim().split(':');
          if (!host || !port || !/^\d+$/.test(port)) {
            throw new Error(`REDIS_CLUSTER_NODES item "${hp}" must be host:port`);
          }
          return { host, port: Number(port) };
        }),
      }
    : { kind: 'standalone', url: env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379' };
  const port = Number(env.PORT ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT "${env.PORT}" is not a port number`);
  return {
    redis,
    apiToken: env.API_TOKEN || undefined,
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    nbRemotes: env.OVN_NB_REMOTES?.trim() || undefined,
    kubeconfig: env.KUBECONFIG?.trim() || undefined,
    relaySecret: env.RELAY_SECRET || undefined,
    eventsToken: env.EVENTS_TOKEN || undefined,
    eventsMaxBytes: positiveInt(env, 'EVENTS_MAX_BYTES'),
    eventsMaxBatch: positiveInt(env, 'EVENTS_MAX_BATCH'),
    keepVmIp: (env.KEEP_VM_IP ?? 'true').toLowerCase() !== 'false',
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
}

/** A whole number >= 1 in decimal digits, or undefined when the variable is unset or empty. */
function positiveInt(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`${name} "${env[name]}" must be a whole number of at least 1`);
  }
  return Number(raw);
}
