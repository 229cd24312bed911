// API errors as the Kubernetes API returns them: a `Status` object with an HTTP code and a reason.

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Gone'
  | 'Expired'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'InternalError'
  | 'RequestEntityTooLarge'
  | 'Timeout'
  | 'ServiceUnavailable';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details: StatusDetails = {},
  ) {
    super(message);
  }

  toStatus() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

/** `vips.kubeovn.io`, or `pods` for the core group: how the API names a resource in messages. */
export const qualifiedName = (group: string, resource: string) => (group ? `${resource}.${group}` : resource);

export const notFound = (group: string, resource: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualifiedName(group, resource)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });

export const alreadyExists = (group: string, resource: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualifiedName(group, resource)} "${name}" already exists`, {
    name,
    group,
    kind: resource,
  });

export const conflict = (group: string, resource: string, name: string, why: string) =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(group, resource)} "${name}": ${why}`,
    { name, group, kind: resource },
  );

export const invalid = (
  group: string,
  kind: string,
  name: string,
  causes: { field: string; message: string }[],
) =>
  new ApiError(
    422,
    'Invalid',
    // GroupKind.String(): `Namespace`, `StatefulSet.apps`, `Vip.kubeovn.io`.
    `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    { name, group, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', ...c })) },
  );

export const expired = (requested: number, oldest: number) =>
  new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

/** kube-apiserver's cap on a request body (MaxRequestBodyBytes: twice etcd's 1.5 MiB, for JSON). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;
/** etcd's default --max-request-bytes: a larger object cannot be stored. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

export const entityTooLarge = () =>
  new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`);

/**
 * What kube-apiserver 1.32 answers when etcd refuses an object above its request limit: etcd's
 * error passed through as a 500 (kubernetes/kubernetes#112152 asks for a 4xx; still open).
 */
export const objectTooLarge = () => new ApiError(500, 'InternalError', 'etcdserver: request is too large');
