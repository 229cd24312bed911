// Renders infra/deploy's overlays with `kubectl kustomize` (offline) and answers questions about the
// result: objects by kind and name, a container's effective environment, and which environment
// variable names the code reads (found in its sources, so new names are picked up on their own).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../infra/local/stack.ts';

export const DEPLOY = join(ROOT, 'infra/deploy');
export const OVERLAYS = readdirSync(join(DEPLOY, 'overlays')).sort();

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain YAML of many kinds
export type Obj = Record<string, any>;

/** Secrets and the self-signed certificate the overlays need (init.sh keeps existing files). */
export function ensureInit(): void {
  if (
    existsSync(join(DEPLOY, 'base/secrets/api-token')) &&
    existsSync(join(DEPLOY, 'components/self-signed/tls/tls.crt'))
  )
    return;
  execFileSync('bash', [join(DEPLOY, 'init.sh')], { stdio: 'ignore' });
}

export function render(overlay: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', join(DEPLOY, 'overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

export const groupOf = (o: Obj): string => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '');

export function find(objs: Obj[], kind: string, name: string, group?: string): Obj | undefined {
  return objs.find(
    (o) => o.kind === kind && o.metadata?.name === name && (group === undefined || groupOf(o) === group),
  );
}

/** Pod templates of the workloads: [owner, pod spec, pod labels]. */
export function podTemplates(objs: Obj[]): { owner: Obj; spec: Obj; labels: Record<string, string> }[] {
  return objs
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) || isKnativeService(o))
    .map((o) => ({
      owner: o,
      spec: o.spec.template.spec,
      labels: o.spec.template.metadata?.labels ?? {},
    }));
}

export const isKnativeService = (o: Obj) => o.kind === 'Service' && groupOf(o) === 'serving.knative.dev';

/** A container's environment as the kubelet would set it (envFrom first, env overrides). */
export function containerEnv(objs: Obj[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const cm = from.configMapRef && find(objs, 'ConfigMap', from.configMapRef.name);
    if (!cm) throw new Error(`envFrom names ConfigMap ${from.configMapRef?.name}, which is not rendered`);
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = find(objs, 'ConfigMap', ref.name)?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue; // unset in the container, as the kubelet does
        throw new Error(`${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      }
      env[e.name] = value;
    } else throw new Error(`${e.name}: only values and ConfigMap keys are expected`);
  }
  return env;
}

/** The sources that read the environment of the programs the image runs. */
export const ENV_SOURCES = [
  'shared/config.ts',
  'functions/serve/node.ts',
  'infra/relay/cli.ts',
  'infra/relay/main.ts',
  'infra/holder/main.ts',
  'infra/health/server.ts',
];
/** Read by Node itself. */
const NODE_ENV = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_ENV'];

/**
 * Names the code reads: `env.NAME` / `env['NAME']`, names given to `readSecret` (NAME and
 * NAME_FILE) and `*_FILE` names spelled out as strings.
 */
export function knownEnvNames(): Set<string> {
  const names = new Set(NODE_ENV);
  for (const file of ENV_SOURCES) {
    const path = join(ROOT, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\b(?:readSecret|withFile)\([^)]*?['"]([A-Z][A-Z0-9_]*)['"]/g)) {
      names.add(m[1]!);
      names.add(`${m[1]}_FILE`);
    }
    for (const m of text.matchAll(/['"]([A-Z][A-Z0-9_]*_FILE)['"]/g)) names.add(m[1]!);
  }
  return names;
}

/**
 * Names the manifests set for the secrets/TLS work (issue 11 item 6) that is merged separately:
 * accepted while shared/config.ts and the relay's CLI do not read them yet. Once they do, the names
 * are found in the sources and this list is only a no-op (remove it then).
 */
export const PENDING_ENV = new Set([
  'API_TOKEN_FILE',
  'RELAY_SECRET_FILE',
  'EVENTS_TOKEN_FILE',
  'REDIS_PASSWORD_FILE',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'OVN_NB_SSL_KEY_FILE',
  'OVN_NB_SSL_CERT_FILE',
  'OVN_NB_SSL_CA_FILE',
]);
