// POST /admission/vips: the validating admission webhook for Vips (AdmissionReview v1 in, out).
// kube-apiserver, or the development API server, calls it on every CREATE and UPDATE of a Vip
// (infra/deploy/base/webhook.yaml). The decision is shared/admission's; this only parses and maps.
import { Hono } from 'hono';
import { z } from 'zod';
import {
  type AdmissionRequest,
  reviewResponse,
  reviewVip,
  type SubnetLookup,
} from '../../shared/admission/index.ts';
import { requireCaller } from '../auth.ts';
import { ADMISSION_MAX_BYTES, limitBody, refuseDeepJson } from '../body-limit.ts';
import type { FunctionsEnv } from '../env.ts';

export interface AdmissionRoutesDeps {
  /** Reads a Subnet by name (e.g. `(name) => kube.getSubnet(name)` from shared/kube). */
  lookupSubnet: SubnetLookup;
  /** When set, callers must send `Authorization: Bearer <token>` (a real API server relies on TLS instead). */
  token?: string;
  /** kube-ovn-controller runs beside this system (shared/domain/beside-kube-ovn.ts). */
  besideKubeOvn?: boolean;
}

const KubeObjectBody = z.looseObject({
  metadata: z.looseObject({
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

const AdmissionReviewBody = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: z.object({ group: z.string(), version: z.string(), kind: z.string() }),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    name: z.string().optional(),
    namespace: z.string().optional(),
    subResource: z.string().optional(),
    // kube-apiserver always sends whole objects: metadata included (labels, deletionTimestamp).
    object: KubeObjectBody.nullish(),
    oldObject: KubeObjectBody.nullish(),
  }),
});

export function createAdmissionRoutes(deps: AdmissionRoutesDeps) {
  const app = new Hono<FunctionsEnv>();

  if (deps.token) app.post('/vips', requireCaller({ token: deps.token }));
  // After the token check, so an unauthenticated request is refused without reading its body.
  app.post('/vips', limitBody(ADMISSION_MAX_BYTES, '/admission'));

  app.post('/vips', async (c) => {
    const text = await c.req.text();
    const deep = refuseDeepJson(c, text);
    if (deep) return deep;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return c.json({ reason: 'BadRequest', message: 'the body is not JSON' }, 400);
    }
    const parsed = AdmissionReviewBody.safeParse(raw);
    if (!parsed.success) {
      return c.json(
        {
          reason: 'BadRequest',
          message: `not an AdmissionReview v1 request: ${z.prettifyError(parsed.error)}`,
        },
        400,
      );
    }
    // Only a failed Subnet read is a 503 (the API server applies the webhook's failurePolicy); any
    // other error is ours and goes to the app's error handler as such, never dressed up as a lookup.
    let lookupFailure: unknown;
    const lookup: typeof deps.lookupSubnet = (name) =>
      deps.lookupSubnet(name).catch((err) => {
        lookupFailure = err;
        throw err;
      });
    try {
      const response = await reviewVip(parsed.data.request as AdmissionRequest, lookup, {
        besideKubeOvn: deps.besideKubeOvn ?? false,
      });
      return c.json(reviewResponse(response), 200);
    } catch (err) {
      if (err !== lookupFailure) throw err;
      return c.json({ reason: 'LookupFailed', message: (err as Error).message ?? String(err) }, 503);
    }
  });

  return app;
}
