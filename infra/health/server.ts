// Liveness and readiness over HTTP for the processes that serve nothing else (the relay, the holder
// sync), so a Deployment can probe them: GET /healthz answers 200 while the process runs, GET /readyz
// 200 once `ready()` says so (503 before). Started only when HEALTH_PORT is set.
import { createServer, type Server } from 'node:http';

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
  ready: () => boolean;
  /** A line /readyz adds to its answer (the relay says whether it leads or follows). */
  detail?: () => string;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const status = path === '/healthz' ? 200 : path === '/readyz' ? (o.ready() ? 200 : 503) : 404;
    const detail = path === '/readyz' && o.detail ? `${o.detail()}\n` : '';
    res
      .writeHead(status, { 'content-type': 'text/plain' })
      .end(`${status === 200 ? 'ok' : status}\n${detail}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : o.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
