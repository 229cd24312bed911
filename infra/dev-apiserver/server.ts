// The API server's HTTP entry: authentication, health, version, discovery and OpenAPI paths, and a
// resource path routed to its verbs (resource-verbs.ts); pods/exec upgrades go to exec.ts.
// Decisions live in store.ts, patch.ts, table.ts, schema.ts and admission.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AdmissionWebhook } from './admission.ts';
import { apiGroups, resourceList, VERSION } from './discovery.ts';
import { ApiError } from './errors.ts';
import { type ExecBackend, refuseUpgrade, serveExec } from './exec.ts';
import { notFoundPath, sendJson } from './http.ts';
import { copyJson } from './json.ts';
import { openApiDocument, openApiRoot } from './openapi.ts';
import { type ResourceContext, serveResource } from './resource-verbs.ts';
import { BUILTIN_RESOURCES, type ResourceInfo, resourceFromCrd } from './resources.ts';
import { parseRoute, type Route } from './route.ts';
import type { KubeObject } from './selectors.ts';
import { Store } from './store.ts';
import { WatchRegistry } from './watch-stream.ts';
import { writeCreate, writeUpdate } from './writes.ts';

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
  /** What the request modules need of this server (resource-verbs.ts, writes.ts). */
  private readonly ctx: ResourceContext;

  constructor(opts: ApiServerOptions) {
    this.token = opts.token;
    this.webhooks = [...(opts.admissionWebhooks ?? [])];
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 5_000;
    this.store = new Store({ historyLimit: opts.historyLimit });
    this.ctx = {
      store: this.store,
      webhooks: this.webhooks,
      watches: this.watches,
      bookmarkIntervalMs: this.bookmarkIntervalMs,
      resource: (g, r) => this.resource(g, r),
    };
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
    await serveResource(this.ctx, req, res, q, route);
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
