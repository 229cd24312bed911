// Deno entry: `DENO_DIR=.cache/deno node_modules/.bin/deno run -A functions/serve/deno.ts`, same env
// as the Node entry (serve/node.ts) and the same modules: /v1 always; with OVN_NB_REMOTES also
// /events, /admission and /occupancy. TLS_CERT_FILE + TLS_KEY_FILE: HTTPS (read at start; a renewed
// certificate needs a restart here). Deno.serve does not expose whether a client certificate was
// verified, so ADMISSION_CLIENT_CA_FILE is refused here: use ADMISSION_TOKEN[_FILE].
import { readConfig } from '../../shared/config.ts';
import { createWholeApp } from './whole-app.ts';

interface DenoRuntime {
  env: { toObject(): Record<string, string> };
  readTextFileSync(path: string): string;
  serve(
    opts: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      onListen?: (addr: { port: number }) => void;
      signal?: AbortSignal;
    },
    handler: (req: Request) => Response | Promise<Response>,
  ): { finished: Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): void;
  exit(code: number): never;
}
const Deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;

// API_TOKEN_FILE and REDIS_PASSWORD_FILE work here too (deno run -A grants the read).
const config = readConfig(Deno.env.toObject(), { readFile: (p) => Deno.readTextFileSync(p) });
const { tls } = config;
const { app, ports, parts } = await createWholeApp(config);
const stop = new AbortController();
const server = Deno.serve(
  {
    port: config.port,
    hostname: config.host,
    ...(tls ? { cert: Deno.readTextFileSync(tls.certFile), key: Deno.readTextFileSync(tls.keyFile) } : {}),
    signal: stop.signal,
    onListen: ({ port }) =>
      console.log(
        `functions (${parts}; deno) listening on ${tls ? 'https' : 'http'}://${config.host}:${port}`,
      ),
  },
  // Hono's handler takes (request, env, ctx); Deno passes connection info as the second argument.
  (req) => app.fetch(req),
);
const shutdown = () => stop.abort();
Deno.addSignalListener('SIGTERM', shutdown);
Deno.addSignalListener('SIGINT', shutdown);
await server.finished;
await ports.close();
Deno.exit(0);
