// The behaviours of the development API server the system and its users rely on, in one list.
// Each row is checked from every real client that can express it: kubectl 1.32 and client-node
// here, the Python client (Debian's python3-kubernetes) in python_client.py under the same id.
// A client that cannot express a row has no check for it ("n/a" in the table).
import { check, type KubectlClient, type NodeClient } from './clients.ts';

export interface Behaviour {
  id: string;
  title: string;
  kubectl?: (k: KubectlClient) => Promise<void>;
  clientNode?: (c: NodeClient) => Promise<void>;
  /** python_client.py has a case with this id */
  python?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: manifests of many shapes
type Obj = Record<string, any>;

const pod = (name: string, ns: string, labels: Record<string, string> = {}, extra: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra },
});
const lease = (name: string, ns: string, holder = 'a', metadata: Obj = {}): Obj => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: ns, ...metadata },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
});
const vip = (name: string): Obj => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name },
  spec: { subnet: 'ovn-default' },
});
const json = (o: unknown) => JSON.stringify(o);
/** Watch lines of a raw watch response. */
const lines = (text: string): Obj[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
const big = (bytes: number) => 'x'.repeat(bytes);
const MiB = 1024 * 1024;
/** More writes than the suite's server keeps in its history (8), so an older version is gone. */
export const HISTORY_WRITES = 10;

export const BEHAVIOURS: Behaviour[] = [
  {
    id: 'verbs',
    title: 'create, get, list, update (PUT), patch, delete',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(pod('verbs', k.ns)), 'create', '-f', '-');
      check((await k.ok('get', 'pod', 'verbs', '-n', k.ns, '-o', 'name')).trim() === 'pod/verbs', 'get');
      check((await k.ok('get', 'pods', '-n', k.ns, '-o', 'name')).includes('pod/verbs'), 'list');
      await k.ok('label', 'pod', 'verbs', '-n', k.ns, 'step=patched');
      const current = JSON.parse(await k.ok('get', 'pod', 'verbs', '-n', k.ns, '-o', 'json'));
      current.metadata.labels.step = 'replaced';
      await k.okIn(json(current), 'replace', '-f', '-');
      check((await k.ok('get', 'pod', 'verbs', '-n', k.ns, '-L', 'step')).includes('replaced'), 'update');
      await k.ok('delete', 'pod', 'verbs', '-n', k.ns);
      await k.fails(/NotFound/, ['get', 'pod', 'verbs', '-n', k.ns]);
    },
    clientNode: async (c) => {
      await c.core.createNamespacedPod({ namespace: c.ns, body: pod('verbs', c.ns) });
      const got = await c.core.readNamespacedPod({ namespace: c.ns, name: 'verbs' });
      check(
        (await c.core.listNamespacedPod({ namespace: c.ns })).items.some((p) => p.metadata?.name === 'verbs'),
        'list',
      );
      got.metadata = { ...got.metadata, labels: { step: 'replaced' } };
      await c.core.replaceNamespacedPod({ namespace: c.ns, name: 'verbs', body: got });
      await c.objects.patch(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'verbs', namespace: c.ns, labels: { extra: 'yes' } },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        'application/merge-patch+json',
      );
      const after = await c.core.readNamespacedPod({ namespace: c.ns, name: 'verbs' });
      check(
        after.metadata?.labels?.step === 'replaced' && after.metadata.labels.extra === 'yes',
        'update + patch',
      );
      await c.core.deleteNamespacedPod({ namespace: c.ns, name: 'verbs' });
      check(
        (await c.code(c.core.readNamespacedPod({ namespace: c.ns, name: 'verbs' }))) === 404,
        'gone after delete',
      );
    },
  },
  {
    id: 'protobuf',
    title: 'protobuf request bodies where kubectl sends them (create namespace)',
    kubectl: async (k) => {
      const name = `${k.ns}-pb`;
      const r = await k.run(['create', 'namespace', name, '-v=8']);
      check(r.code === 0, `create namespace: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      check(/Content-Type: application\/vnd\.kubernetes\.protobuf/.test(r.stderr), 'kubectl sent protobuf');
      const ns = JSON.parse(await k.ok('get', 'namespace', name, '-o', 'json'));
      check(ns.status.phase === 'Active' && ns.metadata.uid, 'namespace stored');
      await k.okIn(json(pod('in-pb', name)), 'create', '-f', '-');
      await k.ok('delete', 'namespace', name);
    },
  },
  {
    id: 'names',
    title: 'names that are not DNS-1123, bad label keys or values refused: 422 Invalid naming the field',
    python: true,
    kubectl: async (k) => {
      await k.fails(/metadata\.name: Invalid value: "Bad": a lowercase RFC 1123 label/, [
        'create',
        'namespace',
        'Bad',
      ]);
      await k.fails(/must be no more than 63 characters/, ['create', 'namespace', 'n'.repeat(64)]);
      await k.fails(/Pod "Web_1" is invalid: metadata.name/, ['create', '-f', '-'], json(pod('Web_1', k.ns)));
      await k.fails(
        /metadata.labels: Invalid value: "a b"/,
        ['create', '-f', '-'],
        json(pod('lbl', k.ns, { app: 'a b' })),
      );
    },
    clientNode: async (c) => {
      const err = await c.core.createNamespace({ body: { metadata: { name: 'Bad' } } }).then(
        () => ({ code: 200, body: 'created' }),
        (e: { code?: number; body?: string }) => e,
      );
      check(err.code === 422, `code ${err.code}`);
      const status = JSON.parse(String(err.body));
      check(
        status.reason === 'Invalid' && status.details.causes[0].field === 'metadata.name',
        String(err.body),
      );
      const label = pod('lbl', c.ns, { app: 'a b' });
      check(
        (await c.code(c.core.createNamespacedPod({ namespace: c.ns, body: label }))) === 422,
        'label value',
      );
      const long = pod('p'.repeat(254), c.ns);
      check((await c.code(c.core.createNamespacedPod({ namespace: c.ns, body: long }))) === 422, '254 chars');
    },
  },
  {
    id: 'size',
    title: 'body above 3 MiB: 413; object above 1.5 MiB: etcd refuses it (500)',
    python: true,
    kubectl: async (k) => {
      const env = (n: number) => ({
        containers: [{ name: 'c', image: 'b', env: [{ name: 'X', value: big(n) }] }],
      });
      await k.fails(
        /Request entity too large: limit is 3145728/,
        ['create', '-f', '-'],
        json(pod('huge', k.ns, {}, env(4 * MiB))),
      );
      await k.fails(
        /etcdserver: request is too large/,
        ['create', '-f', '-'],
        json(pod('large', k.ns, {}, env(2 * MiB))),
      );
      await k.fails(/NotFound/, ['get', 'pod', 'large', '-n', k.ns]);
    },
    clientNode: async (c) => {
      const env = (n: number) => [{ name: 'c', image: 'b', env: [{ name: 'X', value: big(n) }] }];
      const huge = pod('huge', c.ns, {}, { containers: env(4 * MiB) });
      check((await c.code(c.core.createNamespacedPod({ namespace: c.ns, body: huge }))) === 413, '413');
      const large = pod('large', c.ns, {}, { containers: env(2 * MiB) });
      check((await c.code(c.core.createNamespacedPod({ namespace: c.ns, body: large }))) === 500, '500');
    },
  },
  {
    id: 'label-selector',
    title: 'list with a label selector',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(pod('web', k.ns, { app: 'web' })), 'create', '-f', '-');
      await k.okIn(json(pod('db', k.ns, { app: 'db' })), 'create', '-f', '-');
      const out = await k.ok('get', 'pods', '-n', k.ns, '-l', 'app in (web),app!=db', '-o', 'name');
      check(out.trim() === 'pod/web', out);
    },
    clientNode: async (c) => {
      await c.core.createNamespacedPod({ namespace: c.ns, body: pod('web', c.ns, { app: 'web' }) });
      await c.core.createNamespacedPod({ namespace: c.ns, body: pod('db', c.ns, { app: 'db' }) });
      const list = await c.core.listNamespacedPod({ namespace: c.ns, labelSelector: 'app=web' });
      check(list.items.map((p) => p.metadata?.name).join() === 'web', 'one pod');
    },
  },
  {
    id: 'field-selector',
    title: 'list with a field selector; an unsupported field label is a 400',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(pod('on-n1', k.ns, {}, { nodeName: 'n1' })), 'create', '-f', '-');
      const out = await k.ok('get', 'pods', '-n', k.ns, '--field-selector', 'spec.nodeName=n1', '-o', 'name');
      check(out.trim() === 'pod/on-n1', out);
      await k.fails(/field label not supported: spec.image/, [
        'get',
        'pods',
        '-n',
        k.ns,
        '--field-selector',
        'spec.image=x',
      ]);
    },
    clientNode: async (c) => {
      await c.core.createNamespacedPod({ namespace: c.ns, body: pod('on-n1', c.ns, {}, { nodeName: 'n1' }) });
      const list = await c.core.listNamespacedPod({ namespace: c.ns, fieldSelector: 'spec.nodeName=n1' });
      check(list.items.map((p) => p.metadata?.name).join() === 'on-n1', 'one pod');
      check(
        (await c.code(c.core.listNamespacedPod({ namespace: c.ns, fieldSelector: 'spec.image=x' }))) === 400,
        '400',
      );
    },
  },
  {
    id: 'pagination',
    title: 'limit and continue',
    python: true,
    kubectl: async (k) => {
      for (const n of ['pg-a', 'pg-b', 'pg-c']) await k.okIn(json(lease(n, k.ns)), 'create', '-f', '-');
      const first = JSON.parse(
        await k.ok('get', '--raw', `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases?limit=2`),
      );
      check(first.items.length === 2 && first.metadata.continue, 'first page of 2 with a continue token');
      const rest = JSON.parse(
        await k.ok(
          'get',
          '--raw',
          `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`,
        ),
      );
      check(
        rest.items.length >= 1 &&
          !rest.items.some((i: Obj) => first.items.some((f: Obj) => f.metadata.name === i.metadata.name)),
        'next page',
      );
      const all = await k.ok('get', 'leases', '-n', k.ns, '--chunk-size=1', '-o', 'name');
      check(
        ['pg-a', 'pg-b', 'pg-c'].every((n) => all.includes(`lease.coordination.k8s.io/${n}`)),
        all,
      );
    },
    clientNode: async (c) => {
      for (const n of ['pg-a', 'pg-b', 'pg-c'])
        await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease(n, c.ns) });
      const names: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await c.coordination.listNamespacedLease({
          namespace: c.ns,
          limit: 1,
          _continue: token,
        });
        names.push(...page.items.map((l) => l.metadata?.name ?? ''));
        token = page.metadata?._continue;
        pages++;
      } while (token && pages < 10);
      check(names.filter((n) => n.startsWith('pg-')).join() === 'pg-a,pg-b,pg-c', names.join());
      check(
        (await c.code(
          c.coordination.listNamespacedLease({ namespace: c.ns, _continue: 'bm90IGEgdG9rZW4=' }),
        )) === 400,
        'bad token 400',
      );
    },
  },
  {
    id: 'watch',
    title: 'watch from a resourceVersion (ADDED, MODIFIED, DELETED in order)',
    python: true,
    kubectl: async (k) => {
      // The list's own resourceVersion (`kubectl get -o json` wraps items in a List without one).
      const rv = JSON.parse(
        await k.ok('get', '--raw', `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases`),
      ).metadata.resourceVersion;
      await k.okIn(json(lease('w', k.ns)), 'create', '-f', '-');
      await k.ok('label', 'lease', 'w', '-n', k.ns, 'x=y');
      await k.ok('delete', 'lease', 'w', '-n', k.ns);
      const out = await k.ok(
        'get',
        '--raw',
        `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
      );
      const types = lines(out)
        .filter((e) => e.object.metadata.name === 'w')
        .map((e) => e.type);
      check(types.join() === 'ADDED,MODIFIED,DELETED', types.join());
      // kubectl's own watch: the current object, then its change.
      await k.okIn(json(lease('w2', k.ns)), 'create', '-f', '-');
      // Two lines: the object as listed, then as changed (the label was set once the watch was open).
      await k.watchUntil(
        [
          'get',
          'lease',
          'w2',
          '-n',
          k.ns,
          '-w',
          '-o',
          'custom-columns=NAME:.metadata.name,X:.metadata.labels.x',
        ],
        () => k.ok('label', 'lease', 'w2', '-n', k.ns, 'x=y'),
        /w2\s+y\b/,
      );
    },
    clientNode: async (c) => {
      const rv = (await c.coordination.listNamespacedLease({ namespace: c.ns })).metadata?.resourceVersion;
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('w', c.ns) });
      await c.coordination.deleteNamespacedLease({ namespace: c.ns, name: 'w' });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${seen.join()}`)), 5_000);
        void c.watch
          .watch(
            `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`,
            { resourceVersion: rv },
            (type, obj) => {
              if (obj?.metadata?.name === 'w') seen.push(type);
              if (type === 'DELETED') {
                clearTimeout(timer);
                resolve();
              }
            },
            () => undefined,
          )
          .then((ctl) => timer && setTimeout(() => ctl.abort(), 5_000).unref());
      });
      check(seen.join() === 'ADDED,DELETED', seen.join());
    },
  },
  {
    id: 'bool-params',
    title: 'booleans as kube-apiserver reads them: watch=True, t, yes start a watch; 0, False, FALSE do not',
    python: true,
    kubectl: async (k) => {
      const base = `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases`;
      for (const v of ['True'])
        check(
          /"type":"ADDED"/.test((await k.ok('get', '--raw', `${base}?watch=${v}&timeoutSeconds=1`)).trim()),
          `watch=${v}`,
        );
      for (const v of ['False', '0'])
        check(
          JSON.parse(await k.ok('get', '--raw', `${base}?watch=${v}`)).kind === 'LeaseList',
          `watch=${v}`,
        );
    },
    clientNode: async (c) => {
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('b', c.ns) });
      const base = `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`;
      for (const v of ['t']) {
        const r = await c.raw('GET', `${base}?watch=${v}&timeoutSeconds=1`);
        check(lines(r.text)[0]?.type === 'ADDED', `watch=${v}: ${r.text.slice(0, 80)}`);
      }
      for (const v of ['FALSE', '0'])
        check((await c.raw('GET', `${base}?watch=${v}`)).json.kind === 'LeaseList', `watch=${v}`);
    },
  },
  {
    id: 'int-params',
    title: 'integers as strconv.ParseInt (limit=1e2, timeoutSeconds=0x10: 400); timeoutSeconds ends a watch',
    python: true,
    kubectl: async (k) => {
      const base = `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases`;
      await k.fails(/BadRequest|invalid syntax/, ['get', '--raw', `${base}?limit=1e2`]);
      await k.fails(/BadRequest|invalid syntax/, ['get', '--raw', `${base}?watch=1&timeoutSeconds=0x10`]);
      const t0 = Date.now();
      await k.ok('get', '--raw', `${base}?watch=1&timeoutSeconds=1`);
      check(Date.now() - t0 < 5_000, 'the watch ended after its timeout');
    },
    clientNode: async (c) => {
      const base = `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`;
      const bad = await c.raw('GET', `${base}?limit=1e2`);
      check(bad.status === 400 && bad.json.reason === 'BadRequest', `limit=1e2: ${bad.status}`);
      check(
        (await c.raw('GET', `${base}?watch=1&timeoutSeconds=0x10`)).status === 400,
        'timeoutSeconds=0x10',
      );
      const t0 = Date.now();
      check((await c.raw('GET', `${base}?watch=1&timeoutSeconds=1`)).status === 200, 'watch');
      check(Date.now() - t0 < 5_000, 'ended');
    },
  },
  {
    id: 'watch-list',
    title:
      'allowWatchBookmarks, sendInitialEvents with resourceVersionMatch=NotOlderThan (and 422 without it)',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('wl', k.ns)), 'create', '-f', '-');
      const base = `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases`;
      const out = await k.ok(
        'get',
        '--raw',
        `${base}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1`,
      );
      const ev = lines(out);
      check(
        ev.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'wl'),
        'initial ADDED',
      );
      check(
        ev.some(
          (e) =>
            e.type === 'BOOKMARK' && e.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true',
        ),
        'end bookmark',
      );
      await k.fails(/resourceVersionMatch: Forbidden/, [
        'get',
        '--raw',
        `${base}?watch=1&sendInitialEvents=true`,
      ]);
    },
    clientNode: async (c) => {
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('wl', c.ns) });
      const seen: { type: string; obj: Obj }[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${seen.map((s) => s.type).join()}`)), 5_000);
        void c.watch
          .watch(
            `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`,
            { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true },
            (type, obj) => {
              seen.push({ type, obj });
              if (type === 'BOOKMARK') {
                clearTimeout(timer);
                resolve();
              }
            },
            () => undefined,
          )
          .then((ctl) => setTimeout(() => ctl.abort(), 5_000).unref());
      });
      check(
        seen.some((s) => s.type === 'ADDED' && s.obj.metadata.name === 'wl'),
        'initial ADDED',
      );
      check(seen.at(-1)?.obj.metadata.annotations?.['k8s.io/initial-events-end'] === 'true', 'end bookmark');
      const r = await c.raw(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases?watch=1&sendInitialEvents=true`,
      );
      check(r.status === 422, `without resourceVersionMatch: ${r.status}`);
    },
  },
  {
    id: 'conflict',
    title: '409: update with a stale resourceVersion; create of an existing name',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('cf', k.ns)), 'create', '-f', '-');
      const old = JSON.parse(await k.ok('get', 'lease', 'cf', '-n', k.ns, '-o', 'json'));
      await k.ok('label', 'lease', 'cf', '-n', k.ns, 'x=y');
      await k.fails(/Conflict|the object has been modified/, ['replace', '-f', '-'], json(old));
      await k.fails(/AlreadyExists/, ['create', '-f', '-'], json(lease('cf', k.ns)));
    },
    clientNode: async (c) => {
      const l = await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('cf', c.ns) });
      await c.coordination.replaceNamespacedLease({
        namespace: c.ns,
        name: 'cf',
        body: { ...l, spec: { ...l.spec, holderIdentity: 'b' } },
      });
      check(
        (await c.code(c.coordination.replaceNamespacedLease({ namespace: c.ns, name: 'cf', body: l }))) ===
          409,
        'stale',
      );
      check(
        (await c.code(c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('cf', c.ns) }))) ===
          409,
        'exists',
      );
    },
  },
  {
    id: 'gone',
    title: '410: a watch from a resourceVersion older than the history (ERROR event, code 410)',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('old', k.ns)), 'create', '-f', '-');
      const rv = JSON.parse(await k.ok('get', 'lease', 'old', '-n', k.ns, '-o', 'json')).metadata
        .resourceVersion;
      for (let i = 0; i < HISTORY_WRITES; i++)
        await k.ok('annotate', 'lease', 'old', '-n', k.ns, `n=${i}`, '--overwrite');
      const out = await k.ok(
        'get',
        '--raw',
        `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases?watch=1&resourceVersion=${rv}`,
      );
      const ev = lines(out);
      check(ev[0]?.type === 'ERROR' && ev[0].object.code === 410, out.slice(0, 200));
    },
    clientNode: async (c) => {
      const l = await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('old', c.ns) });
      for (let i = 0; i < HISTORY_WRITES; i++)
        await c.objects.patch(
          {
            ...lease('old', c.ns),
            metadata: { name: 'old', namespace: c.ns, annotations: { n: String(i) } },
          },
          undefined,
          undefined,
          undefined,
          undefined,
          'application/merge-patch+json',
        );
      const got = await new Promise<{ type: string; obj: Obj }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no ERROR event')), 5_000);
        void c.watch.watch(
          `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`,
          { resourceVersion: l.metadata?.resourceVersion },
          (type, obj) => {
            clearTimeout(timer);
            resolve({ type, obj });
          },
          () => undefined,
        );
      });
      check(got.type === 'ERROR' && got.obj.code === 410 && got.obj.reason === 'Expired', json(got));
    },
  },
  {
    id: 'dry-run',
    title: 'dry-run (dryRun=All) on create, update, patch and delete changes nothing',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('dry', k.ns)), 'create', '--dry-run=server', '-f', '-');
      await k.fails(/NotFound/, ['get', 'lease', 'dry', '-n', k.ns]);
      await k.okIn(json(lease('dry', k.ns)), 'create', '-f', '-');
      await k.ok('label', 'lease', 'dry', '-n', k.ns, 'x=y', '--dry-run=server');
      await k.ok('delete', 'lease', 'dry', '-n', k.ns, '--dry-run=server');
      const l = JSON.parse(await k.ok('get', 'lease', 'dry', '-n', k.ns, '-o', 'json'));
      check(!l.metadata.labels?.x, 'label not kept');
    },
    clientNode: async (c) => {
      const dry = await c.coordination.createNamespacedLease({
        namespace: c.ns,
        body: lease('dry', c.ns),
        dryRun: 'All',
      });
      check(dry.metadata?.uid && !dry.metadata.resourceVersion, 'a dry-run answer');
      check(
        (await c.code(c.coordination.readNamespacedLease({ namespace: c.ns, name: 'dry' }))) === 404,
        'not stored',
      );
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('dry', c.ns) });
      await c.coordination.deleteNamespacedLease({ namespace: c.ns, name: 'dry', dryRun: 'All' });
      await c.coordination.readNamespacedLease({ namespace: c.ns, name: 'dry' });
      check(
        (await c.code(
          c.coordination.deleteNamespacedLease({ namespace: c.ns, name: 'dry', dryRun: 'Yes' }),
        )) === 422,
        'dryRun=Yes',
      );
    },
  },
  {
    id: 'server-side-apply',
    title:
      'server-side apply: not implemented, answered 415 as kube-apiserver answers a patch type it does not serve',
    python: true,
    kubectl: async (k) => {
      await k.fails(
        /Server-side apply not available on the server|UnsupportedMediaType|unknown format/,
        ['apply', '--server-side', '-f', '-'],
        json(lease('ssa', k.ns)),
      );
      await k.fails(/NotFound/, ['get', 'lease', 'ssa', '-n', k.ns]);
    },
    clientNode: async (c) => {
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('ssa', c.ns) });
      const code = await c.code(
        c.objects.patch(
          lease('ssa', c.ns, 'b'),
          undefined,
          undefined,
          'conformance',
          true,
          'application/apply-patch+yaml',
        ),
      );
      check(code === 415, `code ${code}`);
    },
  },
  {
    id: 'finalizers-propagation',
    title: 'finalizers hold a deletion; propagationPolicy Orphan, Background, Foreground',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('fin', k.ns, 'a', { finalizers: ['example.com/hold'] })), 'create', '-f', '-');
      await k.ok('delete', 'lease', 'fin', '-n', k.ns, '--wait=false');
      check(
        JSON.parse(await k.ok('get', 'lease', 'fin', '-n', k.ns, '-o', 'json')).metadata.deletionTimestamp,
        'held',
      );
      await k.ok(
        'patch',
        'lease',
        'fin',
        '-n',
        k.ns,
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      );
      await k.fails(/NotFound/, ['get', 'lease', 'fin', '-n', k.ns]);
      for (const cascade of ['orphan', 'background', 'foreground']) {
        await k.okIn(json(lease(`own-${cascade}`, k.ns)), 'create', '-f', '-');
        const uid = JSON.parse(await k.ok('get', 'lease', `own-${cascade}`, '-n', k.ns, '-o', 'json'))
          .metadata.uid;
        const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: `own-${cascade}`, uid };
        await k.okIn(
          json(lease(`dep-${cascade}`, k.ns, 'a', { ownerReferences: [ref] })),
          'create',
          '-f',
          '-',
        );
        await k.ok('delete', 'lease', `own-${cascade}`, '-n', k.ns, `--cascade=${cascade}`);
        const dep = await k.run(['get', 'lease', `dep-${cascade}`, '-n', k.ns]);
        check(
          (dep.code === 0) === (cascade === 'orphan'),
          `${cascade}: dependent ${dep.code === 0 ? 'kept' : 'deleted'}`,
        );
      }
    },
    clientNode: async (c) => {
      await c.coordination.createNamespacedLease({
        namespace: c.ns,
        body: lease('fin', c.ns, 'a', { finalizers: ['example.com/hold'] }),
      });
      await c.coordination.deleteNamespacedLease({ namespace: c.ns, name: 'fin' });
      check(
        (await c.coordination.readNamespacedLease({ namespace: c.ns, name: 'fin' })).metadata
          ?.deletionTimestamp,
        'held',
      );
      for (const policy of ['Orphan', 'Background', 'Foreground']) {
        const owner = await c.coordination.createNamespacedLease({
          namespace: c.ns,
          body: lease(`own-${policy}`.toLowerCase(), c.ns),
        });
        const ref = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          name: owner.metadata?.name ?? '',
          uid: owner.metadata?.uid ?? '',
        };
        const depName = `dep-${policy}`.toLowerCase();
        await c.coordination.createNamespacedLease({
          namespace: c.ns,
          body: lease(depName, c.ns, 'a', { ownerReferences: [ref] }),
        });
        await c.coordination.deleteNamespacedLease({
          namespace: c.ns,
          name: ref.name,
          propagationPolicy: policy,
        });
        const code = await c.code(c.coordination.readNamespacedLease({ namespace: c.ns, name: depName }));
        check((code === 200) === (policy === 'Orphan'), `${policy}: dependent ${code}`);
      }
    },
  },
  {
    id: 'status-subresource',
    title: 'status subresource: /status writes only status, the main resource keeps it',
    python: true,
    kubectl: async (k) => {
      const name = `${k.ns}-st`;
      await k.okIn(json(vip(name)), 'create', '-f', '-');
      await k.ok(
        'patch',
        'vip',
        name,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"v4ip":"10.16.0.9"},"spec":{"subnet":"other"}}',
      );
      await k.ok('patch', 'vip', name, '--type=merge', '-p', '{"status":{"v4ip":"10.16.0.10"}}');
      const v = JSON.parse(await k.ok('get', 'vip', name, '-o', 'json'));
      check(v.status.v4ip === '10.16.0.9' && v.spec.subnet === 'ovn-default', json(v));
    },
    clientNode: async (c) => {
      const name = `${c.ns}-st`;
      const gv = { group: 'kubeovn.io', version: 'v1', plural: 'vips', name };
      await c.custom.createClusterCustomObject({ ...gv, body: vip(name) });
      const cur = (await c.custom.getClusterCustomObject(gv)) as Obj;
      await c.custom.replaceClusterCustomObjectStatus({
        ...gv,
        body: { ...cur, status: { v4ip: '10.16.0.9' }, spec: { subnet: 'x' } },
      });
      const v = (await c.custom.getClusterCustomObject(gv)) as Obj;
      check(v.status.v4ip === '10.16.0.9' && v.spec.subnet === 'ovn-default', json(v));
    },
  },
  {
    id: 'scale-subresource',
    title: 'scale subresource of a StatefulSet',
    python: true,
    kubectl: async (k) => {
      const sts = {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: k.ns },
        spec: {
          replicas: 1,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'c', image: 'b' }] },
          },
        },
      };
      await k.okIn(json(sts), 'create', '-f', '-');
      await k.ok('scale', 'statefulset', 'db', '-n', k.ns, '--replicas=3');
      check(
        JSON.parse(await k.ok('get', 'sts', 'db', '-n', k.ns, '-o', 'json')).spec.replicas === 3,
        'replicas',
      );
    },
    clientNode: async (c) => {
      await c.apps.createNamespacedStatefulSet({
        namespace: c.ns,
        body: {
          metadata: { name: 'db' },
          spec: {
            replicas: 1,
            serviceName: 'db',
            selector: { matchLabels: { app: 'db' } },
            template: {
              metadata: { labels: { app: 'db' } },
              spec: { containers: [{ name: 'c', image: 'b' }] },
            },
          },
        },
      });
      const scale = await c.apps.readNamespacedStatefulSetScale({ namespace: c.ns, name: 'db' });
      await c.apps.replaceNamespacedStatefulSetScale({
        namespace: c.ns,
        name: 'db',
        body: { ...scale, spec: { replicas: 4 } },
      });
      check(
        (await c.apps.readNamespacedStatefulSet({ namespace: c.ns, name: 'db' })).spec?.replicas === 4,
        'replicas',
      );
    },
  },
  {
    id: 'table',
    title: 'Table output (Accept: as=Table;g=meta.k8s.io;v=v1)',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('tb', k.ns)), 'create', '-f', '-');
      const out = await k.ok('get', 'leases', '-n', k.ns);
      check(/^NAME\s+.*AGE/m.test(out) && /^tb\s/m.test(out), out);
    },
    clientNode: async (c) => {
      await c.coordination.createNamespacedLease({ namespace: c.ns, body: lease('tb', c.ns) });
      const r = await c.raw('GET', `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases`, undefined, {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      });
      check(r.json.kind === 'Table' && r.json.columnDefinitions[0].name === 'Name', r.text.slice(0, 120));
      check(
        r.json.rows.some((row: Obj) => row.cells[0] === 'tb'),
        'row',
      );
    },
  },
  {
    id: 'leases',
    title: 'coordination.k8s.io/v1 Leases: create, renew with resourceVersion, list',
    python: true,
    kubectl: async (k) => {
      await k.okIn(json(lease('relay', k.ns, 'pod-a')), 'create', '-f', '-');
      await k.ok(
        'patch',
        'lease',
        'relay',
        '-n',
        k.ns,
        '--type=merge',
        '-p',
        '{"spec":{"holderIdentity":"pod-b","renewTime":"2026-01-01T00:00:00.000000Z"}}',
      );
      const l = JSON.parse(await k.ok('get', 'lease', 'relay', '-n', k.ns, '-o', 'json'));
      check(l.spec.holderIdentity === 'pod-b' && l.spec.renewTime, json(l.spec));
    },
    clientNode: async (c) => {
      const l = await c.coordination.createNamespacedLease({
        namespace: c.ns,
        body: lease('relay', c.ns, 'pod-a'),
      });
      const renewed = await c.coordination.replaceNamespacedLease({
        namespace: c.ns,
        name: 'relay',
        body: { ...l, spec: { ...l.spec, holderIdentity: 'pod-b', renewTime: new Date() } },
      });
      check(
        renewed.spec?.holderIdentity === 'pod-b' &&
          renewed.metadata?.resourceVersion !== l.metadata?.resourceVersion,
        'renewed',
      );
      check(
        (await c.coordination.listNamespacedLease({ namespace: c.ns })).items.some(
          (x) => x.metadata?.name === 'relay',
        ),
        'listed',
      );
    },
  },
  {
    id: 'events-core',
    title: 'core v1 Events, listed by involvedObject field selectors (what kubectl describe reads)',
    python: true,
    kubectl: async (k) => {
      const name = `${k.ns}-ev`;
      await k.okIn(json(vip(name)), 'create', '-f', '-');
      const uid = JSON.parse(await k.ok('get', 'vip', name, '-o', 'json')).metadata.uid;
      const ev = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.1`, namespace: 'default' },
        involvedObject: { apiVersion: 'kubeovn.io/v1', kind: 'Vip', name, uid },
        reason: 'AddressAllocated',
        message: 'got 10.16.0.5',
        type: 'Normal',
        source: { component: 'vipres' },
        firstTimestamp: '2026-01-01T00:00:00Z',
        lastTimestamp: '2026-01-01T00:00:00Z',
        count: 1,
      };
      await k.okIn(json(ev), 'create', '-f', '-');
      const out = await k.ok('describe', 'vip', name);
      check(/Events:[\s\S]*AddressAllocated[\s\S]*got 10\.16\.0\.5/.test(out), out);
    },
    clientNode: async (c) => {
      const name = `${c.ns}-ev`;
      await c.core.createNamespacedEvent({
        namespace: c.ns,
        body: {
          metadata: { name: `${name}.1` },
          involvedObject: { kind: 'Vip', name },
          reason: 'AddressAllocated',
          message: 'm',
          type: 'Normal',
        },
      });
      const list = await c.core.listEventForAllNamespaces({
        fieldSelector: `involvedObject.kind=Vip,involvedObject.name=${name}`,
      });
      check(
        list.items.length === 1 && list.items[0]?.reason === 'AddressAllocated',
        'found by field selector',
      );
    },
  },
  {
    id: 'events-v1',
    title: 'events.k8s.io/v1 Events: the same objects as core Events, regarding = involvedObject',
    python: true,
    kubectl: async (k) => {
      const ev = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: 'ev2', namespace: k.ns },
        eventTime: '2026-01-01T00:00:00.000000Z',
        reportingController: 'vipres',
        reportingInstance: 'r1',
        action: 'Allocate',
        reason: 'AddressAllocated',
        regarding: { kind: 'Vip', name: 'v' },
        note: 'hello',
        type: 'Normal',
      };
      await k.okIn(json(ev), 'create', '-f', '-');
      const core = JSON.parse(await k.ok('get', '--raw', `/api/v1/namespaces/${k.ns}/events/ev2`));
      check(
        core.involvedObject.name === 'v' && core.message === 'hello' && core.reportingComponent === 'vipres',
        json(core),
      );
      const v1 = JSON.parse(await k.ok('get', 'events.v1.events.k8s.io', 'ev2', '-n', k.ns, '-o', 'json'));
      check(v1.regarding.name === 'v' && v1.note === 'hello', json(v1));
    },
    clientNode: async (c) => {
      await c.events.createNamespacedEvent({
        namespace: c.ns,
        body: {
          metadata: { name: 'ev2' },
          eventTime: new Date(),
          reportingController: 'vipres',
          reportingInstance: 'r1',
          action: 'A',
          reason: 'R',
          regarding: { kind: 'Vip', name: 'v' },
          note: 'hello',
          type: 'Normal',
        },
      });
      const core = await c.core.readNamespacedEvent({ namespace: c.ns, name: 'ev2' });
      check(core.involvedObject.name === 'v' && core.message === 'hello', 'core view');
      const list = await c.events.listNamespacedEvent({ namespace: c.ns, fieldSelector: 'regarding.name=v' });
      check(
        list.items.length === 1 && list.items[0]?.note === 'hello',
        'events.k8s.io list by regarding.name',
      );
    },
  },
  {
    id: 'not-served',
    title: 'what is not served: 404 (resource, subresource) and 405 (verb) with a Status object',
    python: true,
    kubectl: async (k) => {
      await k.fails(/NotFound|could not find the requested resource/, [
        'get',
        '--raw',
        `/apis/apps/v1/namespaces/${k.ns}/deployments`,
      ]);
      await k.fails(/NotFound|could not find/, ['get', '--raw', `/api/v1/namespaces/${k.ns}/pods/x/log`]);
      await k.fails(
        /MethodNotAllowed|does not allow this method/,
        ['create', '--raw', `/apis/coordination.k8s.io/v1/namespaces/${k.ns}/leases/x`, '-f', '-'],
        json(lease('x', k.ns)),
      );
    },
    clientNode: async (c) => {
      const nf = await c.raw('GET', `/apis/apps/v1/namespaces/${c.ns}/deployments`);
      check(nf.status === 404 && nf.json.kind === 'Status' && nf.json.reason === 'NotFound', nf.text);
      const na = await c.raw(
        'POST',
        `/apis/coordination.k8s.io/v1/namespaces/${c.ns}/leases/x`,
        json(lease('x', c.ns)),
        { 'content-type': 'application/json' },
      );
      check(na.status === 405 && na.json.kind === 'Status' && na.json.reason === 'MethodNotAllowed', na.text);
    },
  },
];
