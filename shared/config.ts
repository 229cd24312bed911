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
  return { redis, apiToken: env.API_TOKEN || undefined, port, host: env.HOST?.trim() || '127.0.0.1' };
}
