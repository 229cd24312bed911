// The HTTP layer: routes Kubernetes API paths to the store, speaks JSON, Status errors, Table
// and watch streams. Decisions live in store.ts, patch.ts, table.ts, schema.ts and admission.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AdmissionWebhook } from './admission.ts';
import { apiGroups, resourceList, VERSION } from './discovery.ts';
import { storedJson } from './encoding.ts';
import { ApiError, badRequest, invalid } from './errors.ts';
import { type ExecBackend, refuseUpgrade, serveExec } from './exec.ts';
import { notFoundPath, readBody, sendJson, sendList } from './http.ts';
import { copyJson } from './json.ts';
import { listPage } from './list-request.ts';
import { openApiDocument, openApiRoot } from './openapi.ts';
import { dryRunParam, int64Param, ListOptionsError, listOptions, ParamError } from './params.ts';
import { patchObject } from './patch-request.ts';
import { BUILTIN_RESOURCES, groupVersion, type ResourceInfo, resourceFromCrd } from './resources.ts';
import { parseRoute, type Route } from './route.ts';
import { serveScale } from './scale-request.ts';
import { type KubeObject, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';
import { Store } from './store.ts';
import { type IncludeObject, toTable } from './table.ts';
import { serveWatch, WatchRegistry } from './watch-stream.ts';
import { type WriteContext, writeCreate, writeUpdate } from './writes.ts';

export interface ApiServerOptions {
  token: string;
  admissionWebhooks?: AdmissionWebhook[];
  historyLimit?: number;
  /** how often a watch that asked for bookmarks gets one */
  bookmarkIntervalMs?: number;
}

export class ApiServer {
  readonly store: Store;
  readonly webhooks: AdmissionWebhook[];
  private readonly watches = new WatchRegistry();
  private readonly token: string;
  private readonly bookmarkIntervalMs: number;
  /** What the request modules need of this server (writes.ts). */
  private readonly ctx: WriteContext;

  constructor(opts: ApiServerOptions) {
    this.token = opts.token;
    this.webhooks = [...(opts.admissionWebhooks ?? [])];
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 5_000;
    this.store = new Store({ historyLimit: opts.historyLimit });
    this.ctx = { store: this.store, webhooks: this.webhooks, resource: (g, r) => this.resource(g, r) };
    for (const r of BUILTIN_RESOURCES) this.store.register(r);
    this.store.onCrdDeleted = (crd) => this.store.unregister(resourceFromCrd(crd));
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.create(this.resource('', 'namespaces'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
        status: { phase: 'Active' },
      });
    }
  }

  resource(group: string, resource: string): ResourceInfo {
    const info = this.store.find(group, resource);
    if (!info)
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource})`);
    return info;
  }

  /** Creates or replaces an object outside HTTP (CRDs at start-up, seed objects). */
  async apply(obj: KubeObject): Promise<KubeObject> {
    const [group, version] = obj.apiVersion?.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
    const info = this.store
      .resources()
      .find((r) => r.group === group && r.version === version && r.kind === obj.kind);
    if (!info) throw new Error(`no resource for ${obj.apiVersion} ${obj.kind}`);
    // writeCreate and writeUpdate answer with the stored object; the caller gets its own copy.
    try {
      const current = this.store.peek(info, obj.metadata.namespace, obj.metadata.name ?? '');
      return copyJson(
        await this.writeUpdate(
          { info, namespace: obj.metadata.namespace, name: obj.metadata.name },
          { ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion } },
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === 404)
        return copyJson(await this.writeCreate({ info, namespace: obj.metadata.namespace }, obj));
      throw err;
    }
  }

  private byGroupVersion = new Map<string, ResourceInfo[]>();
  private byGroupVersionOf?: ResourceInfo[];

  /** The resources of one group version, cached until the store serves a different set. */
  private servedIn(group: string, version: string): ResourceInfo[] {
    const all = this.store.resources();
    if (this.byGroupVersionOf !== all) {
      this.byGroupVersion = new Map();
      this.byGroupVersionOf = all;
    }
    const key = `${group}/${version}`;
    let list = this.byGroupVersion.get(key);
    if (!list) {
      list = all.filter((r) => r.group === group && r.version === version);
      this.byGroupVersion.set(key, list);
    }
    return list;
  }

  /** Closes every open watch connection abruptly, as a network drop would. */
  dropWatches(): number {
    return this.watches.drop();
  }

  closeWatches(): void {
    this.watches.close();
  }

  /** Runs pods/exec commands: the local node agent, when it runs (infra/local wires it). */
  exec: ExecBackend | undefined;
  /** What `kubectl exec` is told while there is no backend. */
  execUnavailable =
    'exec needs the local dataplane and no node agent is running here (it needs root: start the stack as root)';

  /** HTTP upgrades (the https server's 'upgrade' event): pods/exec over WebSocket, nothing else. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.onRequest?.(req);
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const path = (qi < 0 ? raw : raw.slice(0, qi)).replace(/\/+$/, '');
    const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const certOk = (socket as TLSSocket).authorized === true;
    if (!certOk && req.headers.authorization !== `Bearer ${this.token}`) {
      refuseUpgrade(socket, new ApiError(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(path);
    if (!m) {
      refuseUpgrade(socket, notFoundPath());
      return;
    }
    const [, namespace, pod] = m as unknown as [string, string, string];
    serveExec(
      {
        backend: this.exec,
        unavailable: this.execUnavailable,
        getPod: (ns, name) => this.store.peek(this.resource('', 'pods'), ns, name),
      },
      req,
      socket,
      head,
      { namespace: decodeURIComponent(namespace), pod: decodeURIComponent(pod), q },
    );
  };

  /** Called with every request as it arrives (diagnostics: bench/probe.ts counts them). */
  onRequest: ((req: IncomingMessage) => void) | undefined;

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.onRequest?.(req);
    this.dispatch(req, res).catch((err: unknown) => {
      const apiErr =
        err instanceof ApiError
          ? err
          : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, apiErr.code, apiErr.toStatus());
      else res.end();
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Split by hand: a WHATWG URL per request costs more than the rest of the routing.
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const path = (qi < 0 ? raw : raw.slice(0, qi)).replace(/\/+$/, '') || '/';
    const q = qi < 0 ? NO_QUERY : new URLSearchParams(raw.slice(qi + 1));
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const certOk = (req.socket as TLSSocket).authorized === true;
    if (!certOk && req.headers.authorization !== `Bearer ${this.token}`)
      throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    if (path === '/version') return sendJson(res, 200, VERSION);
    if (path === '/openapi/v3') return sendJson(res, 200, openApiRoot(this.store.resources()));
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiDocument(this.store.resources(), path.slice('/openapi/v3/'.length));
      if (!doc) throw notFoundPath();
      return sendJson(res, 200, doc);
    }
    if (path === '/api')
      return sendJson(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.headers.host ?? '' }],
      });
    if (path === '/apis')
      return sendJson(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: apiGroups(this.store.resources()),
      });
    const segs = path.split('/').filter(Boolean);
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (segs[0] === 'api') {
      group = '';
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs[1]) {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
      if (!version) {
        const g = apiGroups(this.store.resources()).find((x) => x.name === group);
        if (!g) throw notFoundPath();
        return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
      }
    } else throw notFoundPath();
    const inGroup = this.servedIn(group, version as string);
    if (inGroup.length === 0) throw notFoundPath();
    if (rest.length === 0) return sendJson(res, 200, resourceList(group, version as string, inGroup));
    const route = {
      ...parseRoute(rest, inGroup),
      fieldValidation: q.get('fieldValidation') ?? undefined,
    };
    await this.serveResource(req, res, q, route);
  }

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
    route: Route,
  ): Promise<void> {
    try {
      await this.serveResourceChecked(req, res, q, route);
    } catch (err) {
      if (err instanceof ParamError) throw badRequest(err.message);
      if (err instanceof SelectorError) throw badRequest(err.message);
      if (err instanceof ListOptionsError) throw invalid('meta.k8s.io', err.kind, '', err.causes);
      throw err;
    }
  }

  private async serveResourceChecked(
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
    viewRoute: Route,
  ): Promise<void> {
    const served = viewRoute.info;
    // A view (events.k8s.io Events) works on another resource's objects, converted both ways.
    const view = served.view;
    const info = view ? this.resource(view.storage.group, view.storage.resource) : served;
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
      return serveScale(this.ctx, req, res, route, q);
    }
    if (route.subresource && route.subresource !== 'status') throw notFoundPath();
    if (route.subresource === 'status' && !info.hasStatus) throw notFoundPath();
    const isRead = method === 'GET';
    const opts = isRead ? listOptions(q) : undefined;
    if (isRead && route.name && !opts?.watch) {
      const obj = this.store.peek(info, route.namespace, route.name);
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
              ? this.store.resourceVersion
              : opts.resourceVersion;
        return serveWatch(
          this.store,
          this.watches,
          this.bookmarkIntervalMs,
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
      const page = listPage(this.store, info, route.namespace, matcher, opts);
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
      const created = await this.writeCreate(route, body, res, dryRun, true);
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
      const updated = await this.writeUpdate(
        route,
        { ...body, metadata: { ...body.metadata, name: route.name, namespace: route.namespace } },
        res,
        dryRun,
      );
      return reply(200, updated);
    }
    if (method === 'PATCH' && route.name) {
      const dryRun = dryRunParam(q, 'PatchOptions');
      const patched = await patchObject(this.ctx, req, res, route, dryRun, view);
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
      const { object } = this.store.delete(info, route.namespace, route.name, {
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
      const { items } = this.store.list(info, { namespace: route.namespace, matcher });
      for (const o of items) this.store.delete(info, o.metadata.namespace, o.metadata.name ?? '', { dryRun });
      return sendJson(res, 200, {
        kind: served.listKind,
        apiVersion: groupVersion(served),
        metadata: { resourceVersion: this.store.resourceVersion },
        items: items.map(out),
      });
    }
    throw new ApiError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    );
  }

  /** `owned`: the body was just decoded for this request and may be stored as it is. */
  writeCreate(
    route: Route,
    body: KubeObject,
    res?: ServerResponse,
    dryRun = false,
    owned = false,
  ): Promise<KubeObject> {
    return writeCreate(this.ctx, route, body, res, dryRun, owned);
  }

  /** Returns the stored object (writeCreate too): read it, do not change it. */
  writeUpdate(route: Route, obj: KubeObject, res?: ServerResponse, dryRun = false): Promise<KubeObject> {
    return writeUpdate(this.ctx, route, obj, res, dryRun);
  }
}

const NO_QUERY = new URLSearchParams();

function combine(...ms: ((o: KubeObject) => boolean)[]) {
  return (o: KubeObject) => ms.every((m) => m(o));
}
