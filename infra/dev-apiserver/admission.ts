// Calls validating admission webhooks the way kube-apiserver does for a
// ValidatingWebhookConfiguration: an AdmissionReview v1 POST, a deny becomes a 4xx Status.
import { randomUUID } from 'node:crypto';
import { ApiError } from './errors.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionWebhook {
  /** shown in errors: `admission webhook "<name>" denied the request: ...` */
  name: string;
  url: string;
  /** which resources, e.g. `[{ group: 'kubeovn.io', resource: 'vips' }]` */
  resources: { group: string; resource: string }[];
  operations?: AdmissionOperation[];
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutMs?: number;
  /** extra headers, e.g. a bearer token the endpoint expects */
  headers?: Record<string, string>;
}

export interface AdmissionAttributes {
  /** the request is a dry run: the webhook must not act on it */
  dryRun?: boolean;
  info: ResourceInfo;
  operation: AdmissionOperation;
  subresource?: string;
  name: string;
  namespace?: string;
  object: KubeObject | null;
  oldObject: KubeObject | null;
}

export interface AdmissionOutcome {
  warnings: string[];
}

const matches = (hook: AdmissionWebhook, a: AdmissionAttributes) =>
  !a.subresource &&
  (hook.operations ?? ['CREATE', 'UPDATE']).includes(a.operation) &&
  hook.resources.some(
    (r) => r.group === a.info.group && (r.resource === a.info.resource || r.resource === '*'),
  );

export function admissionReview(a: AdmissionAttributes, uid: string = randomUUID()) {
  const kind = { group: a.info.group, version: a.info.version, kind: a.info.kind };
  const resource = { group: a.info.group, version: a.info.version, resource: a.info.resource };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      name: a.name,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: { username: 'dev-admin', groups: ['system:masters', 'system:authenticated'] },
      object: a.object,
      oldObject: a.oldObject,
      dryRun: a.dryRun === true,
      options: {
        kind:
          a.operation === 'CREATE'
            ? 'CreateOptions'
            : a.operation === 'UPDATE'
              ? 'UpdateOptions'
              : 'DeleteOptions',
        apiVersion: 'meta.k8s.io/v1',
      },
    },
  };
}

async function callOne(hook: AdmissionWebhook, a: AdmissionAttributes): Promise<string[]> {
  const review = admissionReview(a);
  let body: {
    response?: {
      uid?: string;
      allowed?: boolean;
      status?: { code?: number; message?: string; reason?: string };
      warnings?: string[];
    };
  };
  try {
    const res = await fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...hook.headers },
      body: JSON.stringify(review),
      signal: AbortSignal.timeout(hook.timeoutMs ?? 10_000),
    });
    if (!res.ok) throw new Error(`the server responded with status ${res.status}`);
    body = (await res.json()) as typeof body;
    if (body.response?.uid !== review.request.uid)
      throw new Error('expected response.uid to match the request uid');
  } catch (err) {
    if (hook.failurePolicy === 'Ignore') return [];
    throw new ApiError(
      500,
      'InternalError',
      `Internal error occurred: failed calling webhook "${hook.name}": ${(err as Error).message}`,
    );
  }
  const r = body.response;
  if (!r.allowed) {
    const code = r.status?.code && r.status.code >= 400 ? r.status.code : 400;
    const message = r.status?.message
      ? `admission webhook "${hook.name}" denied the request: ${r.status.message}`
      : `admission webhook "${hook.name}" denied the request without explanation`;
    throw new ApiError(code, code === 403 ? 'Forbidden' : code === 422 ? 'Invalid' : 'BadRequest', message, {
      name: a.name,
      group: a.info.group,
      kind: a.info.resource,
    });
  }
  return r.warnings ?? [];
}

/** Runs every matching webhook in turn; throws the first denial as an ApiError. */
export async function admit(hooks: AdmissionWebhook[], a: AdmissionAttributes): Promise<AdmissionOutcome> {
  const warnings: string[] = [];
  for (const hook of hooks) if (matches(hook, a)) warnings.push(...(await callOne(hook, a)));
  return { warnings };
}
