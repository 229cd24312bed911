// Deno entry: `DENO_DIR=.cache/deno node_modules/.bin/deno run -A functions/serve/deno.ts`
// (same env as the Node entry). The app and ports are the same modules Node runs.
import { readConfig } from '../../shared/config.ts';
import { createPorts } from '../../shared/ports.ts';
import { createApp } from '../app.ts';

interface DenoRuntime {
  env: { toObject(): Record<string, string> };
  readTextFileSync(path: string): string;
  serve(
    opts: {
      port: number;
      hostname: string;
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
const ports = createPorts(config);
const app = createApp(ports, { apiToken: config.apiToken ?? '' });
const stop = new AbortController();
const server = Deno.serve(
  {
    port: config.port,
    hostname: config.host,
    signal: stop.signal,
    onListen: ({ port }) => console.log(`reservation API (deno) listening on http://${config.host}:${port}`),
  },
  app.fetch,
);
const shutdown = () => stop.abort();
Deno.addSignalListener('SIGTERM', shutdown);
Deno.addSignalListener('SIGINT', shutdown);
await server.finished;
await ports.close();
Deno.exit(0);
