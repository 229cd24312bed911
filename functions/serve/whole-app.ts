// The whole app from configuration, the same for every long-lived runtime (serve/node.ts,
// serve/deno.ts): /v1 always; with OVN_NB_REMOTES also /events (the reconcilers), /admission and
// /occupancy over the controller ports. What differs between runtimes (the server, TLS, how a
// verified client certificate is seen) stays in the entry and comes in through `runtime`.
import { Hono } from 'hono';
import { createControllerPorts } from '../../infra/wiring/controller.ts';
import { createPorts, type Ports } from '../../infra/wiring/redis.ts';
import type { Config } from '../../shared/config.ts';
import type { Dispatch } from '../../shared/events/outcome.ts';
import type { FunctionMetrics } from '../../shared/metrics/functions.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { createAdmissionRoutes } from '../admission/routes.ts';
import { type AppOptions, createApp } from '../app.ts';
import { type CallerAuth, requireCaller } from '../auth.ts';
import type { FunctionsEnv } from '../env.ts';
import { createEventRoutes } from '../events/routes.ts';
import { createOccupancyRoutes } from '../occupancy/routes.ts';

export interface RuntimeEdge {
  /**
   * Whether this request came with a client certificate the TLS layer verified against
   * ADMISSION_CLIENT_CA_FILE; undefined when the runtime cannot tell (the entry then refuses a
   * configured client CA rather than let callers through unchecked).
   */
  readonly clientCertificate?: CallerAuth['clientCertificate'];
}

export interface WholeApp {
  readonly app: ReturnType<typeof createApp>;
  readonly ports: Ports;
  /** The route groups served, for the listening line. */
  readonly parts: string;
}

/** The dispatch, telling `start` and `done` around each event (the controller then loads its port cache). */
function aroundEach(dispatch: Dispatch, start: () => void, done: () => void): Dispatch {
  return async (event) => {
    start();
    try {
      return await dispatch(event);
    } finally {
      done();
    }
  };
}

export async function createWholeApp(
  config: Config,
  runtime: RuntimeEdge = {},
  /** Times reconciles, allocator calls and NB transactions; shows the subnet gauges. */
  observe: {
    metrics?: FunctionMetrics;
    portCacheDelayMs?: number;
    /** Told when each event starts and ends (the entry logs when the first one came). */
    onEvent?: (phase: 'start' | 'done') => void;
  } = {},
): Promise<WholeApp> {
  const { admissionAuth } = config;
  const { metrics } = observe;
  if (!config.nbRemotes) {
    const ports = createPorts(config, { metrics });
    return {
      app: createApp(ports, { apiToken: config.apiToken ?? '' }),
      ports,
      parts: 'reservation API',
    };
  }
  if (admissionAuth.clientCaFile && !runtime.clientCertificate)
    throw new Error(
      'ADMISSION_CLIENT_CA_FILE is set but this runtime cannot verify client certificates; use ADMISSION_TOKEN[_FILE] here',
    );
  const controller = await createControllerPorts(config, {
    metrics,
    ...(observe.portCacheDelayMs !== undefined && { portCacheDelayMs: observe.portCacheDelayMs }),
  });
  // The webhook's caller: a certificate the TLS handshake verified against the client CA
  // (requested of every client, required only here), and/or a bearer token.
  const admission = new Hono<FunctionsEnv>()
    .use(
      '*',
      requireCaller({
        token: admissionAuth.token,
        clientCertificate: admissionAuth.clientCaFile ? runtime.clientCertificate : undefined,
      }),
    )
    .route(
      '/',
      createAdmissionRoutes({
        lookupSubnet: (name) => controller.kube.getSubnet(name),
        besideKubeOvn: config.besideKubeOvn,
      }),
    );
  const mounts: AppOptions['mounts'] = [
    {
      path: '/events',
      app: createEventRoutes({
        dispatch: aroundEach(
          createDispatch(controller.reconcile, {
            ...(metrics ? { observe: metrics.observeReconcile } : {}),
            ...(config.replica ? { replica: config.replica } : {}),
          }),
          () => {
            controller.startedEvent();
            observe.onEvent?.('start');
          },
          () => {
            controller.tookEvent();
            observe.onEvent?.('done');
          },
        ),
        secret: config.relaySecret,
        token: config.eventsToken,
        maxBytes: config.eventsMaxBytes,
        maxBatch: config.eventsMaxBatch,
      }),
    },
    { path: '/admission', app: admission },
    { path: '/occupancy', app: createOccupancyRoutes({ ...controller, token: config.apiToken ?? '' }) },
  ];
  return {
    app: createApp(
      { allocator: controller.allocator, subnetChanged: controller.reconcile.subnetChanged },
      { apiToken: config.apiToken ?? '', mounts },
    ),
    ports: controller,
    parts: 'reservation API, /events, /admission, /occupancy',
  };
}
