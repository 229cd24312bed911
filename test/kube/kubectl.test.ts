// The development API server checked with the real kubectl: the seed's YAML, the seed's table,
// -o yaml, patch, delete waiting on a finalizer, get -w, and strategic merge patch from apply.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import {
  applyFlags,
  findKubectl,
  kubectlMinor,
  runKubectl,
  spawnKubectl,
} from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir, waitFor } from '../../infra/local/services.ts';
import { SEED_VIP_HEADER } from '../setup/seed.ts';

const root = new URL('../../', import.meta.url).pathname;
const crdDir = join(root, 'infra/manifests/crds');
const crdFiles = readdirSync(crdDir).map((f) => join(crdDir, f));
const examples = join(root, 'examples');

let server: DevApiServer;
let dir: string;
let kubectl: string;
/** Debian's kubectl 1.20 wants OpenAPI v2 for client-side validation, which this server lacks. */
let validateFlag: string[] = [];
/** `kubectl patch --subresource` came in 1.24 */
let hasSubresourceFlag = true;

const k = (...args: string[]) => runKubectl(server.kubeconfigPath, args, { kubectl });
async function ok(...args: string[]) {
  const r = await k(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
const vipsInfo = () => server.api.resource('kubeovn.io', 'vips');

beforeAll(async () => {
  kubectl = findKubectl();
  const minor = kubectlMinor(kubectl);
  validateFlag = applyFlags(kubectl);
  hasSubresourceFlag = minor >= 24;
  dir = makeTempDir('vipres-kubectl-');
  server = await startDevApiServer({
    dir,
    token: 'kubectl-test-token',
    crdFiles,
    applyFiles: [join(root, 'infra/manifests/subnet-ovn-default.yaml')],
  });
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl against the development API server', () => {
  it('discovers vips with their short name', async () => {
    const out = await ok('api-resources', '--api-group=kubeovn.io');
    const line = out.split('\n').find((l) => l.startsWith('vips '));
    expect(line?.split(/\s+/)).toEqual(['vips', 'vip', 'kubeovn.io/v1', 'false', 'Vip']);
  });

  it('applies every YAML document of the seed, verbatim, and the second apply changes nothing', async () => {
    const first = await ok('apply', ...validateFlag, '-f', examples);
    expect(first).toMatch(/vip.kubeovn.io\/vip-dynamic-01 created/);
    expect(first).toMatch(/pod\/busybox created/);
    expect(first).toMatch(/pod\/static-ip created/);
    expect(first.trim().split('\n')).toHaveLength(7);
    const second = await ok('apply', ...validateFlag, '-f', examples);
    expect(
      second
        .trim()
        .split('\n')
        .every((l) => l.endsWith(' unchanged')),
    ).toBe(true);
    const busybox = server.api.store.get(server.api.resource('', 'pods'), 'default', 'busybox');
    expect(busybox.metadata.annotations?.['ovn.kubernetes.io/aaps']).toBe('vip-aap');
  });

  it("prints the seed's table for kubectl get vip", async () => {
    // status as the handlers would write it, through the status subresource
    const status = { v4ip: '10.16.0.12', mac: '00:00:00:F0:DB:25', ready: true };
    if (hasSubresourceFlag)
      await ok(
        'patch',
        'vip',
        'vip-dynamic-01',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      );
    else {
      const cur = server.api.store.get(vipsInfo(), undefined, 'vip-dynamic-01');
      server.api.store.update(vipsInfo(), { ...cur, status }, { subresource: 'status' });
    }
    const out = await ok('get', 'vip', 'vip-dynamic-01');
    expect(out).toBe(
      [
        'NAME             V4IP         PV4IP   MAC                 PMAC   V6IP   PV6IP   SUBNET        READY',
        'vip-dynamic-01   10.16.0.12           00:00:00:F0:DB:25                         ovn-default   true',
        '',
      ].join('\n'),
    );
    const all = await ok('get', 'vip');
    expect(all.split('\n')[0]?.split(/\s+/)).toEqual(SEED_VIP_HEADER);
    expect(all.trim().split('\n')).toHaveLength(6);
    const wide = await ok('get', 'vip', '-o', 'wide');
    expect(wide.split('\n')[0]?.trim().endsWith('READY   PARENTS   HOLDER   NAMESPACE   TYPE')).toBe(true);
  });

  it('shows a Vip as YAML and patches its spec (merge and json patch) with generation tracking', async () => {
    const y = parseYaml(await ok('get', 'vip', 'static-vip01', '-o', 'yaml'));
    expect(y).toMatchObject({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'static-vip01', generation: 1 },
      spec: { subnet: 'ovn-default', v4ip: '10.16.0.121' },
    });
    await ok(
      'patch',
      'vip',
      'static-vip01',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"ovn.kubernetes.io/subnet":"ovn-default"}}}',
    );
    await ok(
      'patch',
      'vip',
      'static-vip01',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/v4ip","value":"10.16.0.122"}]',
    );
    const after = parseYaml(await ok('get', 'vip', 'static-vip01', '-o', 'yaml'));
    expect(after.metadata.labels).toEqual({ 'ovn.kubernetes.io/subnet': 'ovn-default' });
    expect(after.spec.v4ip).toBe('10.16.0.122');
    expect(after.metadata.generation).toBe(2);
    // the CRD's schema refuses an unknown type before anything else sees it
    const bad = await k('patch', 'vip', 'static-vip01', '--type=merge', '-p', '{"spec":{"type":"bogus"}}');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec.type: Unsupported value: "bogus"/);
    // a stale resourceVersion is a conflict
    const stale = await k(
      'patch',
      'vip',
      'static-vip01',
      '--type=merge',
      '-p',
      '{"metadata":{"resourceVersion":"1"},"spec":{"v4ip":"10.16.0.123"}}',
    );
    expect(stale.stderr).toMatch(/Conflict|the object has been modified/);
  });

  it('refuses unknown fields when kubectl asks for strict validation, prunes them otherwise', async () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(
      file,
      'apiVersion: kubeovn.io/v1\nkind: Vip\nmetadata:\n  name: typo\nspec:\n  subnet: ovn-default\n  v4Ip: "10.16.0.9"\n',
    );
    const r = await k('apply', ...validateFlag, '-f', file);
    if (validateFlag.length === 0) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('strict decoding error: unknown field "spec.v4Ip"');
    } else {
      expect(r.code).toBe(0);
      expect(server.api.store.get(vipsInfo(), undefined, 'typo').spec).toEqual({ subnet: 'ovn-default' });
      await ok('delete', 'vip', 'typo');
    }
    const lax = await k('apply', '--validate=false', '-f', file);
    expect(lax.code).toBe(0);
    expect(server.api.store.get(vipsInfo(), undefined, 'typo').spec).toEqual({ subnet: 'ovn-default' });
    await ok('delete', 'vip', 'typo');
  });

  it('re-applies a changed pod with a strategic merge patch', async () => {
    const changed = join(dir, 'busybox-changed.yaml');
    const yaml = (await import('node:fs'))
      .readFileSync(join(examples, 'busybox-pod.yaml'), 'utf8')
      .replace('app: aap1', 'app: aap2');
    writeFileSync(changed, yaml);
    const out = await ok('apply', ...validateFlag, '-f', changed);
    expect(out.trim()).toBe('pod/busybox configured');
    const pod = server.api.store.get(server.api.resource('', 'pods'), 'default', 'busybox');
    expect(pod.metadata.labels).toEqual({ app: 'aap2' });
    expect(
      (pod.spec as { containers: { name: string; securityContext: unknown }[] }).containers[0],
    ).toMatchObject({ name: 'busybox', securityContext: { capabilities: { add: ['NET_ADMIN'] } } });
  });

  it('kubectl delete waits on a finalizer until it is removed', async () => {
    await ok(
      'patch',
      'vip',
      'slr-01',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["kubeovn.io/kube-ovn-controller"]}}',
    );
    const del = runKubectl(server.kubeconfigPath, ['delete', 'vip', 'slr-01', '--timeout=20s'], {
      kubectl,
      timeoutMs: 25_000,
    });
    let done = false;
    void del.then(() => {
      done = true;
    });
    await waitFor(
      'deletionTimestamp',
      async () => server.api.store.get(vipsInfo(), undefined, 'slr-01').metadata.deletionTimestamp,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toBe(false);
    await ok(
      'patch',
      'vip',
      'slr-01',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    );
    const r = await del;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vip.kubeovn.io "slr-01" deleted/);
    const gone = await k('get', 'vip', 'slr-01');
    expect(gone.stderr).toMatch(/NotFound.*"slr-01" not found/);
  });

  it('kubectl get pods -w receives a change', async () => {
    const child = spawnKubectl(server.kubeconfigPath, ['get', 'pods', '-w'], kubectl);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    try {
      await waitFor('initial list', async () => out.includes('static-ip'), { timeoutMs: 10_000 });
      const before = out.split('\n').filter((l) => l.startsWith('busybox')).length;
      await ok('delete', 'pod', 'busybox', '--wait=false');
      await waitFor(
        'watch event',
        async () => out.split('\n').filter((l) => l.startsWith('busybox')).length > before,
        { timeoutMs: 10_000 },
      );
      expect(out.split('\n')[0]?.split(/\s+/).slice(0, 5)).toEqual([
        'NAME',
        'READY',
        'STATUS',
        'RESTARTS',
        'AGE',
      ]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('scales a StatefulSet, and deleting it deletes its pods (ownerReferences)', async () => {
    const sts = join(dir, 'sts.yaml');
    writeFileSync(
      sts,
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 2\n  serviceName: web\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: nginx\n          image: nginx\n',
    );
    await ok('apply', ...validateFlag, '-f', sts);
    const owner = server.api.store.get(server.api.resource('apps', 'statefulsets'), 'default', 'web');
    const ownerReferences = [
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: owner.metadata.uid as string,
        controller: true,
      },
    ];
    server.api.store.create(server.api.resource('', 'pods'), {
      metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' }, ownerReferences },
      spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
    });
    expect((await ok('scale', 'statefulset', 'web', '--replicas=1')).trim()).toBe(
      'statefulset.apps/web scaled',
    );
    expect(await ok('get', 'sts', 'web', '-o', 'jsonpath={.spec.replicas}')).toBe('1');
    await ok('delete', 'sts', 'web');
    const pods = await ok('get', 'pods', '-o', 'name');
    expect(pods).not.toContain('pod/web-0');
  });

  it('refuses a client without the token', async () => {
    const anon = join(dir, 'anon.kubeconfig');
    const cfg = (await import('node:fs'))
      .readFileSync(server.kubeconfigPath, 'utf8')
      .split('\n')
      .filter((l) => !/token:|client-certificate-data|client-key-data/.test(l))
      .join('\n');
    writeFileSync(anon, cfg.replace('user:', 'user:\n      token: wrong'));
    const r = await runKubectl(anon, ['get', 'vip'], { kubectl });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|credentials/);
  });
});
