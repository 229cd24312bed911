// The verbs on one resource's objects: get, list and watch, create, update, patch, delete and
// deletecollection, for a resource served as itself or as a view of another, in JSON or as a Table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { storedJson } from './encoding.ts';
import { ApiError, badRequest, invalid } from './errors.ts';
import { notFoundPath, readBody, sendJson, sendList } from './http.ts';
import { listPage } from './list-request.ts';
import { dryRunParam, int64Param, ListOptionsError, listOptions, ParamError } from './params.ts';
import { patchObject } from './patch-request.ts';
import { groupVersion } from './resources.ts';
import type { Route } from './route.ts';
import { serveScale } from './scale-request.ts';
import { type KubeObject, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';
import { type IncludeObject, toTable } from './table.ts';
import { serveWatch, type WatchRegistry } from './watch-stream.ts';
import { type WriteContext, writeCreate, writeUpdate } from './writes.ts';

/** What serving a resource needs of the server (ApiServer builds one). */
export interface ResourceContext extends WriteContext {
  /** the open watches, so that they can be dropped or closed together */
  watches: WatchRegistry;
  /** how often a watch that asked for bookmarks gets one */
  bookmarkIntervalMs: number;
}

/** A request bad in its query (parameters, selectors, list options) is a 400 or 422 Status. */
export async function serveResource(
  ctx: ResourceContext,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
  route: Route,
): Promise<void> {
  try {
    await serveResourceChecked(ctx, req, res, q, route);
  } catch (err) {
    if (err instanceof ParamError) throw badRequest(err.message);
    if (err instanceof SelectorError) throw badRequest(err.message);
    if (err instanceof ListOptionsError) throw invalid('meta.k8s.io', err.kind, '', err.causes);
    throw err;
  }
}

async function serveResourceChecked(
  ctx: ResourceContext,
  req: IncomingMessage,
  res: ServerResponse,
  q: URLSearchParams,
  viewRoute: Route,
): Promise<void> {
  const served = viewRoute.info;
  // A view (events.k8s.io Events) works on another resource's objects, converted both ways.
  const view = served.view;
  const info = view ? ctx.resource(view.storage.group, view.storage.resource) : served;
  const route: Route = { ...viewRoute, info };
  const out = view ? view.fromStorage : (o: KubeObject) => o;
  const into = view ? view.toStorage : (o: KubeObject) => o;
  const reply = (code: number, obj: KubeObject) =>
    view ? sendJson(res, code, out(obj)) : sendJson(res, code, obj, storedJson(obj));
  const asTable = /as=Table/.test(req.headers.accept ?? '');
  const includeObject = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
  const method = req.method ?? 'GET';
  if (
    route.subresource === 'scale' &&
    info.group === 'apps' &&
    info.resource === 'statefulsets' &&
    route.name
  ) {
    return serveScale(ctx, req, res, route, q);
  }
  if (route.subresource && route.subresource !== 'status') throw notFoundPath();
  if (route.subresource === 'status' && !info.hasStatus) throw notFoundPath();
  const isRead = method === 'GET';
  const opts = isRead ? listOptions(q) : undefined;
  if (isRead && route.name && !opts?.watch) {
    const obj = ctx.store.peek(info, route.namespace, route.name);
    if (!asTable) return reply(200, obj);
    return sendJson(
      res,
      200,
      toTable(served, [out(obj)], { resourceVersion: obj.metadata.resourceVersion, includeObject }),
    );
  }
  if (isRead && opts) {
    const name = route.name;
    const matcher = combine(
      parseLabelSelector(opts.labelSelector),
      parseFieldSelector(opts.fieldSelector, served.fieldLabels ?? {}),
      name ? (o) => o.metadata.name === name : () => true,
    );
    if (opts.watch) {
      // sendInitialEvents=false without a resourceVersion: from now on, no initial ADDED events.
      const from =
        opts.sendInitialEvents === true
          ? undefined
          : opts.sendInitialEvents === false && !opts.resourceVersion
            ? ctx.store.resourceVersion
            : opts.resourceVersion;
      return serveWatch(
        ctx.store,
        ctx.watches,
        ctx.bookmarkIntervalMs,
        {
          info,
          served,
          convert: view ? out : undefined,
          namespace: route.namespace,
          matcher,
          resourceVersion: from,
          allowBookmarks: opts.allowWatchBookmarks,
          sendInitialEvents: opts.sendInitialEvents === true,
          timeoutSeconds: Math.max(0, opts.timeoutSeconds ?? 0),
          asTable,
          includeObject,
        },
        req,
        res,
      );
    }
    const page = listPage(ctx.store, info, route.namespace, matcher, opts);
    const items = view ? page.items.map(out) : page.items;
    const gv = groupVersion(served);
    if (asTable)
      return sendJson(
        res,
        200,
        toTable(served, items, { resourceVersion: page.resourceVersion, includeObject }),
      );
    return sendList(
      res,
      {
        kind: served.listKind,
        apiVersion: gv,
        metadata: {
          resourceVersion: page.resourceVersion,
          ...(page.continue ? { continue: page.continue } : {}),
          ...(page.remaining !== undefined ? { remainingItemCount: page.remaining } : {}),
        },
      },
      // Stored objects carry their kind already; a copy of each only for the others (views).
      items.map((o) =>
        o.apiVersion === gv && o.kind === served.kind ? o : { ...o, apiVersion: gv, kind: served.kind },
      ),
    );
  }
  if (method === 'POST' && !route.name) {
    const dryRun = dryRunParam(q, 'CreateOptions');
    const body = into((await readBody(req)) as KubeObject);
    const created = await writeCreate(ctx, route, body, res, dryRun, true);
    return reply(201, created);
  }
  if (method === 'PUT' && route.name) {
    const dryRun = dryRunParam(q, 'UpdateOptions');
    const body = into((await readBody(req)) as KubeObject);
    if (body?.metadata?.name && body.metadata.name !== route.name) {
      throw badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${route.name})`,
      );
    }
    const updated = await writeUpdate(
      ctx,
      route,
      { ...body, metadata: { ...body.metadata, name: route.name, namespace: route.namespace } },
      res,
      dryRun,
    );
    return reply(200, updated);
  }
  if (method === 'PATCH' && route.name) {
    const dryRun = dryRunParam(q, 'PatchOptions');
    const patched = await patchObject(ctx, req, res, route, dryRun, view);
    return reply(200, patched);
  }
  if (method === 'DELETE' && route.name) {
    const dryRun = dryRunParam(q, 'DeleteOptions');
    int64Param(q, 'gracePeriodSeconds');
    const body = ((await readBody(req, true)) ?? {}) as {
      preconditions?: { uid?: string; resourceVersion?: string };
      propagationPolicy?: string;
      dryRun?: string[];
    };
    const policy = q.get('propagationPolicy') ?? body.propagationPolicy;
    if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground')
      throw new ListOptionsError(
        [
          {
            field: 'propagationPolicy',
            message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
          },
        ],
        'DeleteOptions',
      );
    const { object } = ctx.store.delete(info, route.namespace, route.name, {
      preconditions: body.preconditions,
      propagationPolicy: policy,
      dryRun: dryRun || (body.dryRun ?? []).includes('All'),
    });
    return sendJson(res, 200, out(object));
  }
  if (method === 'DELETE') {
    const dryRun = dryRunParam(q, 'DeleteOptions');
    const matcher = combine(
      parseLabelSelector(q.get('labelSelector') ?? undefined),
      parseFieldSelector(q.get('fieldSelector') ?? undefined, served.fieldLabels ?? {}),
      () => true,
    );
    const { items } = ctx.store.list(info, { namespace: route.namespace, matcher });
    for (const o of items) ctx.store.delete(info, o.metadata.namespace, o.metadata.name ?? '', { dryRun });
    return sendJson(res, 200, {
      kind: served.listKind,
      apiVersion: groupVersion(served),
      metadata: { resourceVersion: ctx.store.resourceVersion },
      items: items.map(out),
    });
  }
  throw new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource`,
  );
}

function combine(...ms: ((o: KubeObject) => boolean)[]) {
  return (o: KubeObject) => ms.every((m) => m(o));
}
