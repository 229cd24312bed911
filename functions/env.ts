// The Hono environment every route group is built with. The groups read no bindings or variables:
// what a runtime knows about a request (Node's `incoming` socket, say) reaches them only through
// the checks its entry passes in (serve/whole-app.ts, RuntimeEdge).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hono, Schema } from 'hono';

export type FunctionsEnv = { Bindings: object; Variables: object };

/** A route group that can be mounted under a path of the app (functions/app.ts `mounts`). */
export type RouteGroup = Hono<FunctionsEnv, Schema, string>;

/** The options of an OpenAPI route group in this environment (the app's zod error mapper). */
export type OpenApiInit = ConstructorParameters<typeof OpenAPIHono<FunctionsEnv>>[0];
