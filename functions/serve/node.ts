// Node entry: `node --import tsx functions/serve/node.ts` (env: REDIS_URL or REDIS_CLUSTER_NODES,
// API_TOKEN, PORT, HOST). Closes the server and Redis on SIGTERM/SIGINT.
import { serve } from '@hono/node-server';
import { readConfig } from '../../shared/config.ts';
import { createPorts } from '../../shared/ports.ts';
import { createApp } from '../app.ts';

const config = readConfig(process.env);
const ports = createPorts(config);
const app = createApp(ports, { apiToken: config.apiToken ?? '' });
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  console.log(`reservation API listening on http://${config.host}:${info.port}`);
});

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  server.close(async () => {
    await ports.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(1), 10_000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
