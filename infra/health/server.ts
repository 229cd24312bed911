// Probes and metrics over plain HTTP on their own port (HEALTH_PORT), for every long-running
// process: the kubelet probes it and Prometheus scrapes it, both without credentials, as
// Kubernetes components do; a NetworkPolicy limits who reaches it (docs/parts/metrics.md).
//   GET /livez    200 while the process runs (nothing else is checked: a restart cures no outage)
//   GET /healthz  the same (kept for manifests written before /livez)
//   GET /readyz   200 when `ready()` says so, 503 otherwise; the body names each check's result
//   GET /metrics  the process's own registry in Prometheus text format (404 without one)
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Readiness } from '../../shared/health/readiness.ts';

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** HEALTH_PORT (and HEALTH_HOST, default 0.0.0.0 as probes come from the kubelet) or nothing. */
export function healthListenFromEnv(
  env: Record<string, string | undefined>,
): { port: number; host: string } | undefined {
  const text = env.HEALTH_PORT?.trim();
  if (!text) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`HEALTH_PORT "${text}" is not a port number`);
  return { port, host: env.HEALTH_HOST?.trim() || '0.0.0.0' };
}

export async function startHealthServer(o: {
  port: number;
  host: string;
  /** A flag, or the result of the process's readiness checks. */
  ready: () => boolean | Readiness | Promise<boolean | Readiness>;
  /** A line /readyz adds to its answer (the relay says whether it leads or follows). */
  detail?: () => string;
  registry?: Registry;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, body: string, type = 'text/plain') =>
      res.writeHead(status, { 'content-type': type }).end(body);
    if (path === '/livez' || path === '/healthz') return answer(200, 'ok\n');
    if (path === '/readyz') {
      Promise.resolve()
        .then(o.ready)
        .then(
          (r) => {
            const readiness = typeof r === 'boolean' ? { ready: r, checks: {} } : r;
            const lines = Object.entries(readiness.checks).map(([k, v]) => `${k}: ${v}\n`);
            const detail = o.detail ? `${o.detail()}\n` : '';
            answer(
              readiness.ready ? 200 : 503,
              `${readiness.ready ? 'ok' : 'not ready'}\n${lines.join('')}${detail}`,
            );
          },
          (err) => answer(503, `not ready\n${(err as Error).message}\n`),
        );
      return;
    }
    if (path === '/metrics' && o.registry) {
      const registry = o.registry;
      registry.metrics().then(
        (text) => answer(200, text, registry.contentType),
        (err) => answer(500, `${(err as Error).message}\n`),
      );
      return;
    }
    answer(404, '404\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
