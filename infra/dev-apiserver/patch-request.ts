// PATCH of an object: the patch type decides the function (patch.ts), the result goes through the
// write path, and a conflict from a concurrent write is retried as kube-apiserver does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './errors.ts';
import { readBody } from './http.ts';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';
import type { ResourceInfo } from './resources.ts';
import type { Route } from './route.ts';
import type { KubeObject } from './selectors.ts';
import { type WriteContext, writeUpdate } from './writes.ts';

export async function patchObject(
  ctx: WriteContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  dryRun = false,
  view?: ResourceInfo['view'],
): Promise<KubeObject> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
  const isCustom = route.info.requireResourceVersion;
  // The patch type is checked first, as kube-apiserver does: an apply patch of an object that
  // does not exist is a 415 too, not a 404.
  const served = ['application/json-patch+json', 'application/merge-patch+json'];
  if (!isCustom) served.push('application/strategic-merge-patch+json');
  if (!served.includes(type ?? ''))
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${served.join(', ')}`,
    );
  const raw = await readBody(req);
  const fromStorage = view ? view.fromStorage : (o: KubeObject) => o;
  const toStorage = view ? view.toStorage : (o: KubeObject) => o;
  // A concurrent write during admission makes the final write conflict; real servers retry a patch.
  for (let attempt = 0; ; attempt++) {
    // Read only: every patch function below returns a new object and leaves this one alone.
    const stored = ctx.store.peek(route.info, route.namespace, route.name ?? '');
    // A view is patched in its own shape, then stored in the storage shape.
    const current = fromStorage(stored);
    let next: unknown;
    try {
      if (type === 'application/merge-patch+json') next = mergePatch(current, raw);
      else if (type === 'application/json-patch+json') next = jsonPatch(current, raw);
      else if (type === 'application/strategic-merge-patch+json') {
        if (isCustom)
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`,
          );
        next = strategicMergePatch(current, raw);
      } else
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${isCustom ? '' : ', application/strategic-merge-patch+json'}`,
        );
    } catch (err) {
      if (err instanceof PatchError) {
        throw err.kind === 'test-failed'
          ? new ApiError(422, 'Invalid', err.message)
          : new ApiError(
              422,
              'Invalid',
              `the server rejected our request due to an error in our request: ${err.message}`,
            );
      }
      throw err;
    }
    if (!(next as KubeObject)?.metadata) throw badRequest('the patch removed metadata');
    const patched = toStorage(next as KubeObject);
    // A merge patch shares what it did not touch with `current`: copy, do not edit, metadata.
    const obj: KubeObject = {
      ...patched,
      metadata: { ...patched.metadata, name: stored.metadata.name, namespace: stored.metadata.namespace },
    };
    const rvFromPatch = obj.metadata.resourceVersion !== stored.metadata.resourceVersion;
    try {
      return await writeUpdate(ctx, route, obj, res, dryRun);
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'Conflict' && !rvFromPatch && attempt < 5) continue;
      throw err;
    }
  }
}
