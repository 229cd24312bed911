// `StackOptions.functionRttMs`: one latency-proxy process (latency-proxy-main.ts) in front of every
// back end the function replicas use, and the addresses (and a kubeconfig) that go through it.
// Only the replicas' environment takes these paths; the relay and tests connect directly. Changes
// when how the functions' network is simulated does.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevApiServer } from '../dev-apiserver/index.ts';
import { entry, ROOT } from './programs.ts';
import { type RedisServer, spawnDaemon, waitFor } from './services.ts';

/** What the function replicas connect to instead of the back ends themselves. */
export interface LatencyPaths {
  nb: string;
  redis: string | undefined;
  cluster: string | undefined;
  kubeconfig: string;
}

/**
 * Starts the proxies with `rttMs` added to every connection; registers their process in
 * `inProcess` (a stack that fails half way stops it) and returns the paths and its stop.
 */
export async function startLatencyPaths(
  rttMs: number,
  ctx: {
    opts: { compiled?: boolean };
    dir: string;
    nbRemote: string;
    redis: RedisServer | undefined;
    redisClusterNodes: string | undefined;
    apiServer: DevApiServer;
    inProcess: { stop(): Promise<void> }[];
  },
): Promise<{ via: LatencyPaths; stop: () => Promise<void> }> {
  const { opts, dir, nbRemote, redisClusterNodes, apiServer } = ctx;
  // Every back-end port the functions use, then one proxy process for all of them.
  const hostPorts = [
    ...nbRemote.split(','),
    ...(ctx.redis ? [`127.0.0.1:${ctx.redis.port}`] : []),
    ...(redisClusterNodes ? redisClusterNodes.split(',') : []),
    `127.0.0.1:${new URL(apiServer.url).port}`,
  ];
  const portOf = (hp: string) => Number(/:(\d+)$/.exec(hp)?.[1]);
  const proxyDaemon = spawnDaemon(
    'latency-proxies',
    process.execPath,
    [
      ...entry(opts, 'infra/local/latency-proxy-main'),
      '--rtt',
      String(rttMs),
      ...hostPorts.flatMap((hp) => ['--target', String(portOf(hp))]),
    ],
    dir,
    { cwd: ROOT },
  );
  ctx.inProcess.push({ stop: () => proxyDaemon.stop() });
  const stop = () => proxyDaemon.stop();
  const ports = await waitFor(
    'the latency proxies',
    async () => {
      const m = /latency proxies: (\{.*\})/.exec(readFileSync(proxyDaemon.logFile, 'utf8'));
      return m ? (JSON.parse(m[1]!) as { ports: number[] }).ports : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  const proxied = new Map(hostPorts.map((hp, i) => [hp, ports[i]!]));
  const swapPort = async (hostPort: string) => {
    const m = /^(.*:)(\d+)$/.exec(hostPort);
    return m ? `${m[1]}${proxied.get(hostPort)}` : hostPort;
  };
  const proxy = async (port: number) => proxied.get(`127.0.0.1:${port}`)!;
  const nb = (await Promise.all(nbRemote.split(',').map(swapPort))).join(',');
  const redis = ctx.redis ? `redis://127.0.0.1:${await proxy(ctx.redis.port)}` : undefined;
  const cluster = redisClusterNodes
    ? (await Promise.all(redisClusterNodes.split(',').map(swapPort))).join(',')
    : undefined;
  const apiPort = Number(new URL(apiServer.url).port);
  const kubeconfig = join(dir, 'kubeconfig-functions');
  writeFileSync(
    kubeconfig,
    readFileSync(apiServer.kubeconfigPath, 'utf8').replaceAll(
      `server: ${apiServer.url}`,
      `server: https://127.0.0.1:${await proxy(apiPort)}`,
    ),
    { mode: 0o600 },
  );
  return { via: { nb, redis, cluster, kubeconfig }, stop };
}
