// The image runs the system: the functions, the relay and the holder sync start from the image
// (`podman run --network host`, everything on 127.0.0.1) with the container specs the self-signed
// overlay renders (command, env, mounted Secrets, user, read-only root, /tmp as tmpfs), against a
// local Redis, OVN NB/SB and the development API server. Each answers its readiness probe, the
// seed's examples end Ready with their NB rows, the API calls each part makes are all granted by
// its ClusterRole or a Role bound to it (each grant used or named below with its reason), and SIGTERM stops each
// container with exit 0 inside its grace period.
// Builds the image first (`npm run image`; the local base is kept between runs). Needs podman and
// root: not part of `npm test`; `npm run test:image` runs it (and .ci/run after `npm test`).
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type OvsdbServer, startSbServer, waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { type E2E, startE2E } from '../e2e/harness.ts';
import { containerEnv, ensureInit, find, knownEnvNames, type Obj, render } from './render.ts';

const run = promisify(execFile);
const IMAGE = process.env.VIP_IMAGE ?? 'localhost/kube-ovn-vip:dev';
const CONTAINERS_CONF = join(ROOT, '.local/podman/containers.conf');
const podman = (...args: string[]) =>
  run('podman', ['--runtime', 'runc', ...args], {
    env: { ...process.env, CONTAINERS_CONF },
    timeout: 120_000,
    maxBuffer: 16 << 20,
  }).then((r) => r.stdout.trim());

interface Part {
  id: string;
  /** The host port its readiness probe answers on. */
  probePort: number;
  probe: Obj;
  grace: number;
  https: boolean;
}

/** One API request, as RBAC sees it. */
interface Call {
  who: 'functions' | 'relay' | 'holder';
  group: string;
  resource: string;
  verb: string;
}

function rbacCall(req: IncomingMessage): Omit<Call, 'who'> | undefined {
  const url = new URL(req.url ?? '/', 'https://x');
  const parts = url.pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length > 3) [group, rest] = [parts[1]!, parts.slice(3)];
  else return undefined; // discovery and other non-resource paths
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  const method = req.method ?? 'GET';
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const verb =
    method === 'GET'
      ? name
        ? 'get'
        : watch
          ? 'watch'
          : 'list'
      : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' }[
          method
        ] ?? method);
  return { group, resource: sub ? `${resource}/${sub}` : resource, verb };
}

const granted = (role: Obj, c: Omit<Call, 'who'>) =>
  role.rules.some(
    (r: Obj) => r.apiGroups.includes(c.group) && r.resources.includes(c.resource) && r.verbs.includes(c.verb),
  );

/**
 * Grants the seed's examples do not exercise, with the reason each is needed. Everything else a
 * role grants must be seen used.
 */
const NOT_EXERCISED: Record<string, string[]> = {
  // Owners of a pod's reservation (keep rules) and SwitchLBRule status; the seed has no
  // StatefulSet, VirtualMachine or SwitchLBRule, and status is written with patch here. An Event
  // is patched only when it repeats (its series count), and the seed's Vips succeed at once.
  functions: [
    'events.k8s.io/events/patch',
    'apps/statefulsets/get',
    'kubevirt.io/virtualmachines/get',
    'kubeovn.io/switch-lb-rules/get',
    'kubeovn.io/switch-lb-rules/status/patch',
    'kubeovn.io/switch-lb-rules/status/update',
    'kubeovn.io/subnets/status/update',
    'kubeovn.io/vips/status/update',
  ],
  relay: [],
  // The local SB has no Port_Binding rows (no ovn-northd here), so there is no holder to write,
  // no Vip to read for it and no HolderChanged Event to record.
  holder: [
    'kubeovn.io/vips/status/patch',
    'kubeovn.io/vips/get',
    'events.k8s.io/events/create',
    'events.k8s.io/events/patch',
  ],
};

function writeKubeconfig(file: string, e: E2E, auth: 'token' | 'cert'): void {
  const api = e.stack.apiServer;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user =
    auth === 'token'
      ? [`      token: ${api.token}`]
      : [
          `      client-certificate-data: ${b64(api.certificates.clientCert)}`,
          `      client-key-data: ${b64(api.certificates.clientKey)}`,
        ];
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: dev',
      '    cluster:',
      `      server: ${api.url}`,
      `      certificate-authority-data: ${b64(api.ca)}`,
      'users:',
      '  - name: part',
      '    user:',
      ...user,
      'contexts:',
      '  - name: dev',
      '    context: { cluster: dev, user: part }',
      'current-context: dev',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o644); // read by the image's non-root user
}

function httpGet(url: string, ca?: string): Promise<number> {
  if (!url.startsWith('https:')) return fetch(url).then((r) => r.status);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the image, run as the manifests run it', () => {
  let e: E2E;
  let sb: OvsdbServer;
  let objs: Obj[];
  let dir: string;
  let ca: string;
  let functionsUrl = '';
  const started: string[] = [];
  const parts = new Map<string, Part>();
  const calls: Call[] = [];
  let tokenUser: 'relay' | 'holder' = 'relay';
  const known = knownEnvNames();
  /** TLS_CERT_FILE is read once the HTTPS work is merged; until then the functions serve HTTP. */
  const https = known.has('TLS_CERT_FILE');

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'infra/image/build.sh')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 280_000,
    });
    ensureInit();
    objs = render('self-signed');
    e = await startE2E({ replicas: 0, relay: false });
    sb = await startSbServer();
    dir = join(e.stack.dir, 'containers');
    mkdirSync(dir, { recursive: true });
    chmodSync(e.stack.dir, 0o755);
    chmodSync(dir, 0o755);
    writeKubeconfig(join(dir, 'kubeconfig-cert'), e, 'cert');
    writeKubeconfig(join(dir, 'kubeconfig-token'), e, 'token');
    ca = Buffer.from(find(objs, 'Secret', 'vip-functions-tls')!.data['ca.crt'], 'base64').toString();
    // Who asked: the functions bring only a client certificate, the relay and then the holder only
    // the token; the test's own clients bring both (or are kubectl).
    e.stack.apiServer.api.onRequest = (req) => {
      if (String(req.headers['user-agent'] ?? '').startsWith('kubectl')) return;
      const cert = (req.socket as TLSSocket).getPeerCertificate?.();
      const hasCert = !!cert && Object.keys(cert).length > 0;
      const hasToken = !!req.headers.authorization;
      const call = rbacCall(req);
      if (!call || hasCert === hasToken) return;
      calls.push({ who: hasCert ? 'functions' : tokenUser, ...call });
    };
  }, 300_000);

  afterAll(async () => {
    for (const id of started) await podman('rm', '-f', '-t', '0', id).catch(() => {});
    await sb?.stop();
    await e?.stop();
  });

  /** Starts a Deployment's container as its pod spec says, with in-cluster addresses made local. */
  async function startPart(name: string, auth: 'token' | 'cert'): Promise<Part> {
    const dep = find(objs, 'Deployment', name)!;
    const spec = dep.spec.template.spec;
    const c = spec.containers[0];
    const env = containerEnv(objs, c);
    const args = ['run', '-d', '--network', 'host', '--read-only', '--cap-drop', 'all'];
    args.push('--security-opt', 'no-new-privileges', '--name', `vipdeploy-${name}-${process.pid}`);
    args.push('--user', `${spec.securityContext.runAsUser}:${spec.securityContext.runAsGroup}`);
    for (const m of c.volumeMounts ?? []) {
      const v = spec.volumes.find((x: Obj) => x.name === m.name);
      if (v.emptyDir) args.push('--tmpfs', `${m.mountPath}:rw,mode=1777`);
      else if (v.secret) {
        const secret = find(objs, 'Secret', v.secret.secretName)!;
        const files = v.secret.items ?? Object.keys(secret.data).map((key) => ({ key, path: key }));
        const hostDir = join(dir, `${name}-${m.name}`);
        mkdirSync(hostDir, { recursive: true });
        chmodSync(hostDir, 0o755);
        for (const f of files) {
          writeFileSync(join(hostDir, f.path), Buffer.from(secret.data[f.key], 'base64'));
          chmodSync(join(hostDir, f.path), 0o644); // a Secret volume's default mode
        }
        args.push('-v', `${hostDir}:${m.mountPath}:ro`);
      } else throw new Error(`volume ${m.name}: not expected here`);
    }
    // Until the code reads NAME_FILE (merged separately), give it NAME from the mounted file.
    for (const [k, v] of Object.entries(env)) {
      const plain = k.replace(/_FILE$/, '');
      if (k.endsWith('_FILE') && !known.has(k) && known.has(plain)) {
        const m = c.volumeMounts.find((x: Obj) => v.startsWith(`${x.mountPath}/`));
        const hostFile = join(dir, `${name}-${m.name}`, v.slice(m.mountPath.length + 1));
        env[plain] = execFileSync('cat', [hostFile], { encoding: 'utf8' }).trim();
      }
    }
    const probe = c.readinessProbe.httpGet;
    // The probe's port is the health port (relay, holder) or the serving port (functions, which
    // also serve /metrics on a HEALTH_PORT of their own: a free one here too, on the host network).
    const portEnv = probe.port === 'health' ? 'HEALTH_PORT' : 'PORT';
    const probePort = await freePort();
    const local: Record<string, string> = {
      ...(env.HEALTH_PORT && portEnv === 'PORT' ? { HEALTH_PORT: String(await freePort()) } : {}),
      [portEnv]: String(probePort),
      HOST: '127.0.0.1',
      HEALTH_HOST: '127.0.0.1',
      KUBECONFIG: join(dir, `kubeconfig-${auth}`),
      REDIS_URL: e.stack.redisUrl!,
      OVN_NB_REMOTES: e.stack.nbRemote,
      OVN_SB_REMOTES: sb.remote,
    };
    // No kube-ovn-controller runs here, so the functions serve the seed's pods too (its Vips bind
    // pods and name AAP parents); in a cluster the manifests' BESIDE_KUBE_OVN=true leaves pods to it.
    if (env.BESIDE_KUBE_OVN) local.BESIDE_KUBE_OVN = 'false';
    const redisPassword = (e.stack as { redisPassword?: string }).redisPassword;
    if (env.REDIS_PASSWORD_FILE && redisPassword) {
      writeFileSync(join(dir, `${name}-redis`, 'password'), redisPassword);
    } else delete env.REDIS_PASSWORD_FILE; // this stack's Redis has no password
    if (!https) for (const k of ['TLS_CERT_FILE', 'TLS_KEY_FILE']) delete env[k];
    if (env.RELAY_SINKS)
      local.RELAY_SINKS = env.RELAY_SINKS.replace(
        /^https:\/\/vip-functions\.kube-ovn-vip\.svc:443/,
        functionsUrl.replace('127.0.0.1', 'localhost'),
      );
    for (const [k, v] of Object.entries({ ...env, ...local }))
      if (k in env || k in local) args.push('-e', `${k}=${v}`);
    args.push('-v', `${dir}:${dir}:ro`, IMAGE, ...c.command, ...(c.args ?? []));
    const id = await podman(...args);
    started.push(id);
    const part: Part = {
      id,
      probePort,
      probe,
      grace: spec.terminationGracePeriodSeconds,
      https: probe.scheme === 'HTTPS' && https,
    };
    parts.set(name, part);
    const url = `${part.https ? 'https' : 'http'}://localhost:${probePort}${probe.path}`;
    await waitFor(
      `${name}: readiness probe ${url}`,
      async () => {
        const state = await podman('inspect', id, '--format', '{{.State.Status}}');
        if (state !== 'running')
          throw new Error(`${name} is ${state}: ${await podman('logs', id).catch(() => '')}`);
        return (await httpGet(url, ca).catch(() => 0)) === 200;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return part;
  }

  async function sigterm(name: string): Promise<{ exitCode: number; ms: number; grace: number }> {
    const part = parts.get(name)!;
    const t0 = Date.now();
    // podman stop sends SIGTERM and waits up to the grace period before SIGKILL, as the kubelet does.
    await podman('stop', '--time', String(part.grace), part.id);
    const ms = Date.now() - t0;
    const exitCode = Number(await podman('inspect', part.id, '--format', '{{.State.ExitCode}}'));
    return { exitCode, ms, grace: part.grace };
  }

  it('starts the functions and the relay from the image until their readiness probes answer', async () => {
    const f = await startPart('vip-functions', 'cert');
    functionsUrl = `${f.https ? 'https' : 'http'}://127.0.0.1:${f.probePort}`;
    const r = await startPart('vip-relay', 'token');
    expect(await httpGet(`${functionsUrl}/healthz`, ca)).toBe(200);
    expect(await httpGet(`http://127.0.0.1:${r.probePort}/readyz`)).toBe(200);
    // The image's user, not root, and nothing writable but /tmp.
    expect(await podman('exec', f.id, 'id', '-u')).toBe('65532');
    await expect(podman('exec', f.id, 'touch', '/app/x')).rejects.toThrow(/Read-only file system/);
  }, 150_000);

  it('reserves every Vip of the seed, with its NB rows, through the relay and the functions in containers', async () => {
    await e.kubectl('apply', '-f', join(ROOT, 'examples'));
    const names = ['vip-dynamic-01', 'static-vip01', 'vip-aap', 'slr-01', 'pod-use-vip'];
    for (const name of names) {
      const v = await e.waitVip(name, (x) => x.status?.ready === true, 'ready', 30_000);
      expect(v.status?.v4ip, name).toMatch(/^10\.16\.\d+\.\d+$/);
    }
    expect((await e.vip('static-vip01'))?.status?.v4ip).toBe('10.16.0.121');
    const aap = await e.waitVip('vip-aap', (x) => (x.status?.pv4ip ?? '') !== '', 'a parent', 30_000);
    const port = await e.nbctl('list', 'logical_switch_port', 'vip-aap');
    expect(port).toContain(`virtual-ip="${aap.status?.v4ip}"`);
    expect(port).toMatch(/type\s+: virtual/);
    const held = await e.waitVip(
      'pod-use-vip',
      (x) => x.metadata.labels?.['ovn.kubernetes.io/ip_reserved'] === 'static-ip.default',
      'held by static-ip',
      30_000,
    );
    const staticIp = await e.nbctl(
      '--bare',
      '--columns=addresses',
      'list',
      'logical_switch_port',
      'static-ip.default',
    );
    expect(staticIp).toContain(held.status!.v4ip!);
  }, 120_000);

  it('stops the relay on SIGTERM within its grace period, exit 0', async () => {
    const r = await sigterm('vip-relay');
    expect(r.exitCode).toBe(0);
    expect(r.ms).toBeLessThan(r.grace * 1000);
  }, 60_000);

  it('starts the holder sync from the image until ready, and stops it on SIGTERM', async () => {
    tokenUser = 'holder';
    await startPart('vip-holder', 'token');
    const r = await sigterm('vip-holder');
    expect(r.exitCode).toBe(0);
    expect(r.ms).toBeLessThan(r.grace * 1000);
  }, 120_000);

  it('stops the functions on SIGTERM within their grace period, exit 0', async () => {
    const r = await sigterm('vip-functions');
    expect(r.exitCode).toBe(0);
    expect(r.ms).toBeLessThan(r.grace * 1000);
  }, 60_000);

  it('made only API calls its roles grant, and used every grant not named as unexercised', () => {
    for (const who of ['functions', 'relay', 'holder'] as const) {
      // Its ClusterRole, plus the Roles bound to its ServiceAccount in the namespace (the relay's
      // Lease for leader election).
      const roles = [
        find(objs, 'ClusterRole', `kube-ovn-vip-${who}`)!,
        ...objs
          .filter(
            (o) =>
              o.kind === 'RoleBinding' &&
              o.roleRef?.kind === 'Role' &&
              (o.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === `vip-${who}`),
          )
          .map((b) => find(objs, 'Role', b.roleRef.name)!),
      ];
      const role = { rules: roles.flatMap((r) => r.rules) };
      const mine = calls.filter((c) => c.who === who);
      expect(mine.length, who).toBeGreaterThan(0);
      const denied = [
        ...new Set(mine.filter((c) => !granted(role, c)).map((c) => `${c.group}/${c.resource}/${c.verb}`)),
      ];
      expect(denied, `${who}: calls its role does not grant`).toEqual([]);
      const used = new Set(mine.map((c) => `${c.group}/${c.resource}/${c.verb}`));
      const unused: string[] = [];
      for (const r of role.rules)
        for (const g of r.apiGroups)
          for (const res of r.resources)
            for (const v of r.verbs) {
              const key = `${g}/${res}/${v}`;
              if (!used.has(key) && !NOT_EXERCISED[who]!.includes(key)) unused.push(key);
            }
      expect(unused, `${who}: grants never used`).toEqual([]);
    }
  });
});
