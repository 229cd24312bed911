// Every overlay of infra/deploy rendered offline with `kubectl kustomize`: each object valid against
// its schema (kubernetes-models, cert-manager and Knative models), every name one object gives
// another present in the render, probes on ports and paths the programs serve, and every
// environment variable one the code reads. (Starting each Deployment's container from the image
// until its probe answers is in image.test.ts, which has the image and a local stack.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../infra/local/stack.ts';
import {
  containerEnv,
  ensureInit,
  find,
  groupOf,
  isKnativeService,
  knownEnvNames,
  type Obj,
  OVERLAYS,
  PENDING_ENV,
  podTemplates,
  render,
} from './render.ts';

/** The model class of an object: the package that holds its group's schemas. */
async function modelOf(o: Obj): Promise<(new (data: Obj) => { validate(): void }) | undefined> {
  const group = groupOf(o);
  const version = o.apiVersion.split('/').pop();
  const pkg = group.endsWith('knative.dev')
    ? '@kubernetes-models/knative'
    : group.endsWith('cert-manager.io')
      ? '@kubernetes-models/cert-manager'
      : 'kubernetes-models';
  const path = `${pkg}/${group ? `${group}/` : ''}${version}/${o.kind}`;
  try {
    const mod = await import(path);
    return mod[o.kind] ?? mod.default?.[o.kind];
  } catch {
    return undefined;
  }
}

/**
 * kustomize wraps long base64 values (Secret data, a caBundle) at 76 columns; the API server's
 * decoder skips line breaks, the schema's `byte` format does not: compare without them.
 */
function withoutBase64Breaks(o: Obj): Obj {
  const copy = structuredClone(o);
  if (copy.kind === 'Secret')
    for (const k of Object.keys(copy.data ?? {})) copy.data[k] = copy.data[k].replace(/\s/g, '');
  for (const w of copy.webhooks ?? [])
    if (w.clientConfig?.caBundle) w.clientConfig.caBundle = w.clientConfig.caBundle.replace(/\s/g, '');
  return copy;
}

/** Secrets made in the cluster by something other than the render, with their keys. */
function producedSecrets(objs: Obj[]): Map<string, string[]> {
  const made = new Map<string, string[]>();
  for (const o of objs) {
    if (o.kind === 'Secret') made.set(o.metadata.name, Object.keys({ ...o.data, ...o.stringData }));
    // cert-manager writes tls.crt, tls.key and ca.crt into a Certificate's Secret.
    if (o.kind === 'Certificate' && groupOf(o) === 'cert-manager.io')
      made.set(o.spec.secretName, ['tls.crt', 'tls.key', 'ca.crt']);
  }
  return made;
}
/** Secrets the operator copies in by hand (README): kube-ovn's own NB/SB TLS files. */
const OPERATOR_SECRETS = new Map([['kube-ovn-tls', ['key', 'cert', 'cacert']]]);

/** Which route/handler sources serve a program's probes, by the command it runs. */
const PROBE_SOURCES: Record<string, { file: string; portEnv: string }> = {
  'dist/functions/serve/node.js': { file: 'functions/app.ts', portEnv: 'PORT' },
  'dist/infra/relay/main.js': { file: 'infra/health/server.ts', portEnv: 'HEALTH_PORT' },
  'dist/infra/holder/main.js': { file: 'infra/health/server.ts', portEnv: 'HEALTH_PORT' },
};
const ENTRY_SOURCE: Record<string, string> = {
  'dist/infra/relay/main.js': 'infra/relay/main.ts',
  'dist/infra/holder/main.js': 'infra/holder/main.ts',
};

beforeAll(() => ensureInit());

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  let objs: Obj[];
  beforeAll(() => {
    objs = render(overlay);
  });

  it('renders only objects that are valid against their schemas', async () => {
    expect(objs.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const o of objs) {
      const Model = await modelOf(o);
      if (!Model) {
        problems.push(`${o.apiVersion} ${o.kind} ${o.metadata?.name}: no schema`);
        continue;
      }
      try {
        new Model(withoutBase64Breaks(o)).validate();
      } catch (err) {
        problems.push(`${o.kind} ${o.metadata?.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names only Secrets, ConfigMaps, ServiceAccounts, Services and issuers that exist', () => {
    const missing: string[] = [];
    const secrets = new Map([...producedSecrets(objs), ...OPERATOR_SECRETS]);
    const has = (kind: string, name: string, group?: string) => !!find(objs, kind, name, group);
    for (const { owner, spec } of podTemplates(objs)) {
      const who = `${owner.kind} ${owner.metadata.name}`;
      if (spec.serviceAccountName && !has('ServiceAccount', spec.serviceAccountName))
        missing.push(`${who}: ServiceAccount ${spec.serviceAccountName}`);
      const volumes = new Map<string, Obj>((spec.volumes ?? []).map((v: Obj) => [v.name, v]));
      for (const claim of owner.spec.volumeClaimTemplates ?? []) volumes.set(claim.metadata.name, claim);
      for (const v of volumes.values()) {
        if (v.secret) {
          const keys = secrets.get(v.secret.secretName);
          if (!keys) missing.push(`${who}: Secret ${v.secret.secretName}`);
          for (const item of v.secret.items ?? [])
            if (keys && !keys.includes(item.key))
              missing.push(`${who}: key ${item.key} of ${v.secret.secretName}`);
        }
        if (v.configMap && !has('ConfigMap', v.configMap.name))
          missing.push(`${who}: ConfigMap ${v.configMap.name}`);
      }
      for (const c of spec.containers) {
        try {
          containerEnv(objs, c);
        } catch (err) {
          missing.push(`${who}: ${(err as Error).message}`);
        }
        for (const m of c.volumeMounts ?? [])
          if (!volumes.has(m.name)) missing.push(`${who}: volume ${m.name}`);
        // A file env var points into a mounted volume.
        for (const [name, value] of Object.entries(containerEnv(objs, c)))
          if (name.endsWith('_FILE') || name === 'NODE_EXTRA_CA_CERTS')
            if (!(c.volumeMounts ?? []).some((m: Obj) => value.startsWith(`${m.mountPath}/`)))
              missing.push(`${who}: ${name}=${value} is in no mounted volume`);
      }
    }
    for (const o of objs) {
      const who = `${o.kind} ${o.metadata.name}`;
      if (o.kind === 'Service' && !isKnativeService(o)) {
        const pods = podTemplates(objs).filter(({ labels }) =>
          Object.entries(o.spec.selector ?? {}).every(([k, v]) => labels[k] === v),
        );
        if (pods.length === 0) missing.push(`${who}: no pods match its selector`);
        for (const p of o.spec.ports)
          if (
            typeof p.targetPort === 'string' &&
            !pods.some(({ spec }) =>
              spec.containers.some((c: Obj) => (c.ports ?? []).some((cp: Obj) => cp.name === p.targetPort)),
            )
          )
            missing.push(`${who}: target port ${p.targetPort}`);
      }
      if (o.kind === 'ValidatingWebhookConfiguration')
        for (const w of o.webhooks) {
          const ref = w.clientConfig.service;
          const svc = find(objs, 'Service', ref.name, '');
          if (!svc || svc.metadata.namespace !== ref.namespace)
            missing.push(`${who}: Service ${ref.namespace}/${ref.name}`);
          else if (!svc.spec.ports.some((p: Obj) => p.port === ref.port))
            missing.push(`${who}: port ${ref.port}`);
          const injected = o.metadata.annotations?.['cert-manager.io/inject-ca-from'];
          if (injected) {
            const [ns, name] = injected.split('/');
            const cert = find(objs, 'Certificate', name, 'cert-manager.io');
            if (!cert || cert.metadata.namespace !== ns) missing.push(`${who}: Certificate ${injected}`);
          } else if (!w.clientConfig.caBundle) missing.push(`${who}: neither caBundle nor a CA injector`);
        }
      if (
        o.kind === 'HorizontalPodAutoscaler' &&
        !has(o.spec.scaleTargetRef.kind, o.spec.scaleTargetRef.name)
      )
        missing.push(`${who}: ${o.spec.scaleTargetRef.kind} ${o.spec.scaleTargetRef.name}`);
      if (o.kind === 'PodDisruptionBudget' || o.kind === 'NetworkPolicy') {
        const selector = o.kind === 'PodDisruptionBudget' ? o.spec.selector : o.spec.podSelector;
        const match = (labels: Record<string, string>) =>
          Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
          (selector.matchExpressions ?? []).every(
            (e: Obj) => e.operator === 'In' && e.values.includes(labels[e.key]),
          );
        const pods = podTemplates(objs).filter(({ labels }) => match(labels));
        if (pods.length === 0) missing.push(`${who}: selects no pods`);
        for (const rule of o.spec.ingress ?? [])
          for (const p of rule.ports ?? [])
            if (
              typeof p.port === 'string' &&
              !pods.every(({ spec }) =>
                spec.containers.some((c: Obj) => (c.ports ?? []).some((cp: Obj) => cp.name === p.port)),
              )
            )
              missing.push(`${who}: named port ${p.port} not on every selected pod`);
      }
      if (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') {
        if (!has(o.roleRef.kind, o.roleRef.name)) missing.push(`${who}: ${o.roleRef.kind} ${o.roleRef.name}`);
        for (const s of o.subjects) {
          const sa = find(objs, 'ServiceAccount', s.name);
          if (!sa || sa.metadata.namespace !== s.namespace)
            missing.push(`${who}: ServiceAccount ${s.namespace}/${s.name}`);
        }
      }
      if ((o.kind === 'Certificate' || o.kind === 'Issuer') && groupOf(o) === 'cert-manager.io') {
        const issuer = o.spec.issuerRef;
        if (issuer && !has(issuer.kind, issuer.name)) missing.push(`${who}: ${issuer.kind} ${issuer.name}`);
        if (o.spec.ca && !producedSecrets(objs).has(o.spec.ca.secretName))
          missing.push(`${who}: CA Secret ${o.spec.ca.secretName}`);
      }
      if (o.kind === 'ApiServerSource') {
        if (!has('ServiceAccount', o.spec.serviceAccountName))
          missing.push(`${who}: ServiceAccount ${o.spec.serviceAccountName}`);
        const sink = o.spec.sink.ref;
        if (!find(objs, sink.kind, sink.name, sink.apiVersion.split('/')[0]))
          missing.push(`${who}: sink ${sink.kind} ${sink.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('probes ports the programs listen on and paths they serve, and sets only env names the code reads', () => {
    const known = knownEnvNames();
    const problems: string[] = [];
    for (const { owner, spec } of podTemplates(objs)) {
      for (const c of spec.containers) {
        const who = `${owner.kind} ${owner.metadata.name}`;
        const program = c.command?.[1] as string | undefined;
        if (!c.image.includes('kube-ovn-vip')) continue; // Redis: not our code
        const env = containerEnv(objs, c);
        for (const name of Object.keys(env))
          if (!known.has(name) && !PENDING_ENV.has(name))
            problems.push(`${who}: env ${name} is read by no code`);
        const probes = PROBE_SOURCES[program ?? ''];
        if (!probes) {
          problems.push(`${who}: unknown program ${program}`);
          continue;
        }
        const source = readFileSync(join(ROOT, probes.file), 'utf8');
        const entry = ENTRY_SOURCE[program!];
        if (entry && !readFileSync(join(ROOT, entry), 'utf8').includes('startHealthServer'))
          problems.push(`${who}: ${entry} starts no health server`);
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          if (!probe?.httpGet) {
            problems.push(`${who}: no HTTP probe`);
            continue;
          }
          const path = probe.httpGet.path;
          if (!source.includes(`'${path}'`)) problems.push(`${who}: ${path} is not served by ${probes.file}`);
          if (isKnativeService(owner)) continue; // Knative probes the port it routes to
          const port =
            typeof probe.httpGet.port === 'number'
              ? probe.httpGet.port
              : c.ports?.find((p: Obj) => p.name === probe.httpGet.port)?.containerPort;
          if (String(port) !== env[probes.portEnv])
            problems.push(
              `${who}: probe port ${probe.httpGet.port} is not ${probes.portEnv}=${env[probes.portEnv]}`,
            );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs every pod as non-root with a read-only root filesystem and resources set', () => {
    const problems: string[] = [];
    for (const { owner, spec } of podTemplates(objs))
      for (const c of spec.containers) {
        const who = `${owner.kind} ${owner.metadata.name}/${c.name ?? 'container'}`;
        if (!(spec.securityContext?.runAsNonRoot || c.securityContext?.runAsNonRoot))
          problems.push(`${who}: root allowed`);
        if (c.securityContext?.readOnlyRootFilesystem !== true)
          problems.push(`${who}: writable root filesystem`);
        if (c.securityContext?.allowPrivilegeEscalation !== false)
          problems.push(`${who}: privilege escalation`);
        if (!isKnativeService(owner) && !c.resources?.requests) problems.push(`${who}: no resource requests`);
      }
    expect(problems).toEqual([]);
  });
});

describe('what differs between overlays', () => {
  it('has the relay with 2 replicas and Lease rights except where Knative replaces it with six sources', () => {
    for (const overlay of OVERLAYS) {
      const objs = render(overlay);
      const relay = find(objs, 'Deployment', 'vip-relay');
      const sources = objs.filter((o) => o.kind === 'ApiServerSource');
      if (overlay === 'knative') {
        expect(relay).toBeUndefined();
        expect(sources.map((s) => s.spec.resources[0].kind).sort()).toEqual([
          'Pod',
          'StatefulSet',
          'Subnet',
          'SwitchLBRule',
          'Vip',
          'VirtualMachine',
        ]);
        expect(find(objs, 'Service', 'vip-events', 'serving.knative.dev')).toBeDefined();
      } else {
        expect(relay?.spec.replicas, overlay).toBe(2);
        expect(sources).toEqual([]);
        // The relay keeps its settled versions in the functions' Redis, with the same password.
        const container = relay!.spec.template.spec.containers[0];
        const env = containerEnv(objs, container);
        expect(env.RELAY_STATE_REDIS, overlay).toBe(find(objs, 'ConfigMap', 'vip-config')?.data.REDIS_URL);
        const passwordDir = env.RELAY_STATE_REDIS_PASSWORD_FILE?.replace(/\/password$/, '');
        const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === passwordDir);
        const volume = relay!.spec.template.spec.volumes.find(
          (v: { name: string }) => v.name === mount?.name,
        );
        expect(volume?.secret?.secretName, overlay).toBe('vip-redis');
        const redisPolicy = find(objs, 'NetworkPolicy', 'vip-redis');
        if (overlay !== 'external-redis') {
          const allowed = redisPolicy?.spec.ingress[0].from.map(
            (f: { podSelector: { matchLabels: Record<string, string> } }) =>
              f.podSelector.matchLabels['app.kubernetes.io/name'],
          );
          expect(allowed, overlay).toEqual(['vip-functions', 'vip-relay']);
        }
      }
      const leases = find(objs, 'Role', 'vip-relay-leases');
      expect(leases?.rules[0].apiGroups).toEqual(['coordination.k8s.io']);
      const redis = find(objs, 'StatefulSet', 'vip-redis');
      const config = find(objs, 'ConfigMap', 'vip-config');
      if (overlay === 'external-redis') {
        expect(redis).toBeUndefined();
        expect(config?.data.REDIS_URL).not.toContain('vip-redis');
      } else {
        expect(redis?.spec.template.spec.containers[0].args[0]).toContain('--appendonly yes');
        expect(redis?.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      }
      expect(config?.data.OVN_NB_REMOTES).toMatch(
        overlay === 'nb-ssl' ? /^ssl:ovn-nb\.kube-system\.svc:6641$/ : /^tcp:ovn-nb\.kube-system\.svc:6641$/,
      );
    }
  });
});
