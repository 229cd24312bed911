// Node entry: `node --import tsx functions/serve/node.ts`.
// env: REDIS_URL or REDIS_CLUSTER_NODES, API_TOKEN, PORT, HOST; with OVN_NB_REMOTES (+ KUBECONFIG,
// RELAY_SECRET / EVENTS_TOKEN) it also serves /events and /admission. Closes everything on SIGTERM.
import { serve } from '@hono/node-server';
import { readConfig } from '../../shared/config.ts';
import { createControllerPorts, createPorts, type Ports } from '../../shared/ports.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { createAdmissionRoutes } from '../admission/routes.ts';
import { type AppOptions, createApp } from '../app.ts';
import { createEventRoutes } from '../events/routes.ts';

const config = readConfig(process.env);
let ports: Ports;
let mounts: AppOptions['mounts'] = [];
if (config.nbRemotes) {
  const controller = await createControllerPorts(config);
  ports = controller;
  mounts = [
    {
      path: '/events',
      app: createEventRoutes({
        dispatch: createDispatch(controller.reconcile),
        secret: config.relaySecret,
        token: config.eventsToken,
        maxBytes: config.eventsMaxBytes,
        maxBatch: config.eventsMaxBatch,
      }),
    },
    {
      path: '/admission',
      app: createAdmissionRoutes({ lookupSubnet: (name) => controller.kube.getSubnet(name) }),
    },
  ];
} else {
  ports = createPorts(config);
}
const app = createApp(ports, { apiToken: config.apiToken ?? '', mounts });
const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
  const parts = config.nbRemotes ? 'reservation API, /events, /admission' : 'reservation API';
  console.log(`functions (${parts}) listening on http://${config.host}:${info.port}`);
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
