// The HTTP side of a StatefulSet's /scale subresource: GET, PUT and PATCH of its Scale (scale.ts),
// written back to the StatefulSet through the write path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, invalid } from './errors.ts';
import { readBody, sendJson } from './http.ts';
import { dryRunParam } from './params.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import type { Route } from './route.ts';
import { applyScale, toScale } from './scale.ts';
import type { KubeObject } from './selectors.ts';
import { type WriteContext, writeUpdate } from './writes.ts';

export async function serveScale(
  ctx: WriteContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  q: URLSearchParams,
): Promise<void> {
  const target = { ...route, subresource: undefined };
  const current = ctx.store.get(route.info, route.namespace, route.name ?? '');
  const method = req.method ?? 'GET';
  if (method === 'GET') return sendJson(res, 200, toScale(current));
  const dryRun = dryRunParam(q, method === 'PUT' ? 'UpdateOptions' : 'PatchOptions');
  let scale: unknown;
  const body = await readBody(req);
  if (method === 'PUT') scale = body;
  else if (method === 'PATCH') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    try {
      scale =
        type === 'application/json-patch+json'
          ? jsonPatch(toScale(current), body)
          : type === 'application/strategic-merge-patch+json'
            ? strategicMergePatch(toScale(current), body)
            : mergePatch(toScale(current), body);
    } catch (err) {
      throw new ApiError(422, 'Invalid', (err as Error).message);
    }
  } else
    throw new ApiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  let next: KubeObject;
  try {
    next = applyScale(current, scale as Parameters<typeof applyScale>[1]);
  } catch (err) {
    throw invalid('autoscaling', 'Scale', route.name ?? '', [
      { field: 'spec.replicas', message: (err as Error).message },
    ]);
  }
  const updated = await writeUpdate(ctx, target, next, res, dryRun);
  return sendJson(res, 200, toScale(updated));
}
