// Builds the HTTP app from its ports. No runtime code here: serve/node.ts, serve/deno.ts and
// serve/worker.ts wrap app.fetch for their runtime.
//
//   GET  /livez            liveness, no auth (/healthz: the same, kept for older manifests)
//   GET  /readyz           readiness: 503 while a dependency (Redis, NB leader, API server) does not answer
//   GET  /openapi.json     the OpenAPI 3.1 document, no auth
//   /v1/...                the reservation API (bearer token API_TOKEN)
//   <mounts>               other route groups (the lead mounts /events and /admission here);
//                          each brings its own authentication
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { isDomainError } from '../shared/domain/errors.ts';
import { type Readiness, runChecks } from '../shared/health/readiness.ts';
import { requireBearer } from './auth.ts';
import { limitBody, refuseDeepJson, V1_MAX_BYTES } from './body-limit.ts';
import type { FunctionsEnv, OpenApiInit, RouteGroup } from './env.ts';
import { type ErrorPayload, statusOf } from './reservation/errors.ts';
import { createReservationRoutes, type ReservationPorts } from './reservation/routes.ts';

export interface AppPorts extends ReservationPorts {
  /** What /readyz checks (infra/wiring lists each dependency); none: ready while live. */
  readonly checks?: Parameters<typeof runChecks>[0];
}

export interface AppOptions {
  /** API_TOKEN: required by every /v1 route. */
  readonly apiToken: string;
  /** Route groups mounted at a path, e.g. `{ path: '/events', app: createEventRoutes(...) }`. */
  readonly mounts?: readonly { readonly path: string; readonly app: RouteGroup }[];
}

// What a validation target is called in messages: the body is valid JSON by the time zod sees it,
// so "invalid json" would mislead.
const TARGET_NAME: Record<string, string> = {
  json: 'body',
  param: 'path',
  query: 'query',
  header: 'headers',
};

// zod failures become 400 InvalidRequest with a message naming the field.
const zodHook: OpenApiInit = {
  defaultHook: (result, c) => {
    if (result.success) return;
    const target = TARGET_NAME[result.target] ?? result.target;
    const issues = result.error.issues.map((i) => {
      const field = i.path.length > 0 ? i.path.join('.') : target;
      return `${field}: ${i.message}`;
    });
    const field = result.error.issues[0]?.path.join('.') || target;
    return c.json<ErrorPayload>(
      {
        reason: 'InvalidRequest',
        message: `invalid ${target}: ${issues.join('; ')}`,
        details: { field },
      },
      400,
    );
  },
};

export function createApp(ports: AppPorts, opts: AppOptions) {
  if (!opts.apiToken) throw new Error('createApp needs an API token (set API_TOKEN)');
  const app = new OpenAPIHono<FunctionsEnv>(zodHook);

  app.get('/livez', (c) => c.json({ ok: true }));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const r: Readiness = await runChecks(ports.checks ?? []);
    return c.json({ ok: r.ready, checks: r.checks }, r.ready ? 200 : 503);
  });

  app.use(
    '/v1/*',
    requireBearer(opts.apiToken, {
      reason: 'Unauthorized',
      missing: 'send the API token as "Authorization: Bearer <API_TOKEN>"',
      invalid: 'the bearer token is not valid for this API',
    }),
  );
  // After the token check, so an unauthenticated request is refused without reading its body.
  app.use('/v1/*', limitBody(V1_MAX_BYTES, '/v1'));
  app.use('/v1/*', async (c, next) => {
    const bad = badPathSegment(c.req.url);
    if (bad) {
      return c.json<ErrorPayload>(
        {
          reason: 'InvalidRequest',
          message: `invalid path: ${bad}: its percent-encoding is not valid UTF-8`,
          details: { field: bad },
        },
        400,
      );
    }
    if (c.req.raw.body) {
      // Cached by Hono: the validator parses this same text.
      const deep = refuseDeepJson(c, await c.req.text());
      if (deep) return deep;
    }
    await next();
  });

  app.route('/', createReservationRoutes(ports, zodHook));
  for (const m of opts.mounts ?? []) app.route(m.path, m.app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'VIP reservation API',
      version: '1.0.0',
      description:
        'Manual address and MAC reservations (kube-ovn Vip semantics) without Kubernetes. Every error body is ' +
        '{ reason, message, details? } with a stable reason.',
    },
  });

  app.notFound((c) =>
    c.json<ErrorPayload>({ reason: 'NotFound', message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );

  app.onError((err, c) => {
    if (isDomainError(err)) {
      const body: ErrorPayload = { reason: err.reason, message: err.message };
      if (Object.keys(err.details).length > 0) body.details = err.details;
      return c.json(body, statusOf(err.reason));
    }
    if (err instanceof HTTPException && err.status < 500) {
      // e.g. a body that is not JSON
      return c.json<ErrorPayload>({ reason: 'InvalidRequest', message: err.message }, 400);
    }
    // Redis unreachable and other outages: retryable, and nothing was changed by this request.
    return c.json<ErrorPayload>(
      {
        reason: 'Unavailable',
        message: `the reservation store is not reachable right now, retry: ${err.message}`,
      },
      503,
    );
  });

  return app;
}

// Names of the /v1 path segments by position: /v1/subnets/{name} and
// /v1/subnets/{subnet}/reservations/{owner}.
const segmentName = (segments: number, at: number) =>
  at === 3 ? (segments === 4 ? 'name' : 'subnet') : at === 5 ? 'owner' : `segment ${at}`;

/**
 * The name of the first path segment whose percent-encoding is not UTF-8 (e.g. `%ED%A0%80`, a
 * surrogate). Hono keeps such a segment undecoded, so it would pass as a literal owner name.
 */
function badPathSegment(url: string): string | undefined {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/s, '');
  const segments = path.split('/');
  for (let i = 0; i < segments.length; i++) {
    if (!segments[i]!.includes('%')) continue;
    try {
      decodeURIComponent(segments[i]!);
    } catch {
      return segmentName(segments.length, i);
    }
  }
  return undefined;
}
