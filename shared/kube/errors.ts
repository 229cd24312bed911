// Typed errors of the Kubernetes API as the handlers need them: NotFound and Conflict are
// decisions (absent object, lost race), the rest are failures to retry or report.

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    /** the Status reason, e.g. `NotFound`, `Conflict`, `Invalid` */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class KubeNotFoundError extends KubeApiError {
  override name = 'KubeNotFoundError';
}

export class KubeConflictError extends KubeApiError {
  override name = 'KubeConflictError';
}

export const isNotFound = (err: unknown): err is KubeNotFoundError => err instanceof KubeNotFoundError;
export const isConflict = (err: unknown): err is KubeConflictError => err instanceof KubeConflictError;

/** The typed error of an HTTP status and the API server's `Status` fields. */
export function fromStatus(code: number, status: { reason?: string; message?: string }): KubeApiError {
  const message = status.message || `HTTP ${code}`;
  const reason = status.reason ?? '';
  if (code === 404) return new KubeNotFoundError(404, reason || 'NotFound', message);
  if (code === 409 && reason !== 'AlreadyExists')
    return new KubeConflictError(409, reason || 'Conflict', message);
  return new KubeApiError(code, reason, message);
}

/** The typed error of a failed response: its body is a `Status` object, or any text (a proxy's page). */
export function fromResponse(code: number, body: string): KubeApiError {
  let status: { reason?: string; message?: string } = { message: body.trim() };
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object') status = parsed as typeof status;
  } catch {
    // not JSON: the text is the message
  }
  return fromStatus(code, status);
}

/** Turns a client-node ApiException (code + Status body) or any error into a KubeApiError. */
export function toKubeError(err: unknown): Error {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e?.code !== 'number' || e.code < 300) return err instanceof Error ? err : new Error(String(err));
  let status: { reason?: string; message?: string } = {};
  try {
    status = typeof e.body === 'string' ? JSON.parse(e.body) : ((e.body as typeof status) ?? {});
  } catch {
    status = { message: String(e.body) };
  }
  return fromStatus(e.code, { reason: status.reason, message: status.message ?? e.message });
}
