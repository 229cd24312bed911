// The occupancy page: read-only views of every subnet's addresses, for people.
//
//   GET /                   the page (static HTML, public: it holds no data); `/` after the mount redirects here
//   GET /app.js             its script (static, public)
//   GET /api/subnets        subnets with used / available / excluded per family   (bearer token)
//   GET /api/subnets/:name  one subnet's cells as runs by state, with holders      (bearer token)
//   GET /api/vips           AAP Vips with their parents and live holder            (bearer token)
//
// A browser cannot put a bearer header on a navigation, so the page itself is public and its
// script asks for the API token once, keeps it in sessionStorage (this tab only, gone when it
// closes) and sends it on every fetch. No cookie: nothing another site could ride on (CSRF), and
// the token never appears in a URL, a history entry or an access log. The page polls with
// If-None-Match; an unchanged answer is a 304 without a body.
import { Hono } from 'hono';
import { z } from 'zod';
import { isDomainError } from '../../shared/domain/errors.ts';
import {
  CELL_STATES,
  type OccupancyPorts,
  readAapRows,
  readSubnetOccupancy,
  subnetSummaries,
} from '../../shared/occupancy/index.ts';
import { requireBearer } from '../auth.ts';
import type { FunctionsEnv } from '../env.ts';
import { PAGE_HTML, PAGE_JS } from './page.ts';

export interface OccupancyRoutesOptions extends OccupancyPorts {
  /** The token the data endpoints require (the functions' API_TOKEN). */
  readonly token: string;
}

const SubnetName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'a Kubernetes name');

// The page's script and styles are its own files: no inline script, so a strict CSP holds.
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export function createOccupancyRoutes(opts: OccupancyRoutesOptions) {
  if (!opts.token) throw new Error('the occupancy routes need a token (API_TOKEN)');
  const app = new Hono<FunctionsEnv>();

  // `/occupancy/` -> `/occupancy`: the page and its script are addressed from the path without a slash.
  app.use('*', async (c, next) => {
    if (c.req.path.endsWith('/') && c.req.method === 'GET') {
      return c.redirect(c.req.path.replace(/\/+$/, '') + new URL(c.req.url).search, 308);
    }
    await next();
  });
  app.get('/', (c) => {
    // Wherever the group is mounted.
    const base = c.req.path;
    return c.html(PAGE_HTML.replaceAll('%BASE%', base), 200, PAGE_HEADERS);
  });
  app.get('/app.js', (c) =>
    c.body(PAGE_JS, 200, { ...PAGE_HEADERS, 'Content-Type': 'text/javascript; charset=utf-8' }),
  );

  const tokenHint = 'send the API token as "Authorization: Bearer <API_TOKEN>"';
  app.use(
    '/api/*',
    requireBearer(opts.token, { reason: 'Unauthorized', missing: tokenHint, invalid: tokenHint }),
  );

  /** JSON with a strong ETag of its body; 304 when the client already has it. */
  const answer = async (c: { req: { header(n: string): string | undefined } }, value: unknown) => {
    const body = JSON.stringify(value);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(body)));
    const etag = `"${[...digest].map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
    const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
    if (c.req.header('if-none-match') === etag) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': 'application/json' } });
  };

  app.get('/api/subnets', async (c) => answer(c, { subnets: await subnetSummaries(opts) }));

  app.get('/api/subnets/:name', async (c) => {
    const name = SubnetName.safeParse(c.req.param('name'));
    if (!name.success) {
      return c.json(
        {
          reason: 'InvalidRequest',
          message: `invalid subnet name: ${name.error.issues[0]?.message}`,
          details: { field: 'name' },
        },
        400,
      );
    }
    const occ = await readSubnetOccupancy(opts.allocator, name.data);
    return answer(c, {
      name: occ.name,
      protocol: occ.protocol,
      states: CELL_STATES,
      families: occ.families.map(({ grid, usage }) => ({
        family: grid.family,
        cidr: grid.cidr,
        first: grid.first,
        cells: grid.cells,
        truncated: grid.truncated,
        heldBeyond: grid.heldBeyond,
        usage,
        // [start, length, state index, holder?]: a /16 with 4,000 holders is ~8,000 runs, ~200 KB.
        runs: grid.runs.map((r) => {
          const s = CELL_STATES.indexOf(r.state);
          return r.holder === undefined ? [r.start, r.length, s] : [r.start, r.length, s, r.holder];
        }),
      })),
    });
  });

  app.get('/api/vips', async (c) => answer(c, { vips: await readAapRows(opts) }));

  app.onError((err, c) => {
    if (isDomainError(err) && err.reason === 'SubnetNotFound') {
      return c.json({ reason: err.reason, message: err.message, details: err.details }, 404);
    }
    return c.json(
      { reason: 'Unavailable', message: `cannot read the occupancy right now, retry: ${err.message}` },
      503,
    );
  });
  return app;
}
