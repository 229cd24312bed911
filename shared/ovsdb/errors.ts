// Typed errors of the OVSDB client. They stand alone (no domain or OVN names) so the client could
// be published on its own. `retryable` says whether sending the same idempotent request again may
// succeed (connection trouble), as opposed to a request the server refused.

export class OvsdbError extends Error {
  override name = 'OvsdbError';
  readonly retryable: boolean = false;
}

/** Not connected to any usable server, and none became usable within the wait. */
export class NotConnected extends OvsdbError {
  override name = 'NotConnected';
  override readonly retryable = true;
}

/** The connection dropped while the request was in flight: it may or may not have been applied. */
export class Disconnected extends OvsdbError {
  override name = 'Disconnected';
  override readonly retryable = true;
}

/** No reply within the request timeout (the connection is then dropped as unhealthy). */
export class Timeout extends OvsdbError {
  override name = 'Timeout';
  override readonly retryable = true;
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method}: no reply within ${timeoutMs} ms`);
  }
}

export class ClientClosed extends OvsdbError {
  override name = 'ClientClosed';
}

/** The server answered a JSON-RPC request with `error` (e.g. unknown database or method). */
export class RpcError extends OvsdbError {
  override name = 'RpcError';
  constructor(
    readonly method: string,
    readonly error: unknown,
  ) {
    super(`${method} failed: ${typeof error === 'string' ? error : JSON.stringify(error)}`);
  }
}

/** One operation of a transaction failed; the whole transaction was rolled back. */
export class OperationError extends OvsdbError {
  override name = 'OperationError';
  constructor(
    /** Index of the failing operation in the transaction (ops.length for a commit-time failure). */
    readonly index: number,
    /** The failing operation, as sent (undefined for a commit-time failure). */
    readonly op: Record<string, unknown> | undefined,
    /** The RFC 7047 error string, e.g. "constraint violation", "timed out". */
    readonly error: string,
    readonly details: string | undefined,
  ) {
    super(
      `operation ${index}${op ? ` (${String(op.op)} ${String(op.table ?? '')})` : ' (commit)'} failed: ${error}${details ? `: ${details}` : ''}`,
    );
  }
}

/** A `wait` operation's condition did not hold: someone changed the rows first. Re-read and retry. */
export class WaitFailed extends OperationError {
  override name = 'WaitFailed';
}

/** A unique index or column constraint was violated (e.g. a second row with an indexed name). */
export class ConstraintViolation extends OperationError {
  override name = 'ConstraintViolation';
}

export class ReferentialIntegrityViolation extends OperationError {
  override name = 'ReferentialIntegrityViolation';
}

/** A clustered server lost or has no leader for this transaction; another server may take it. */
export class NotLeader extends OperationError {
  override name = 'NotLeader';
  override readonly retryable = true;
}

/** Builds the most specific typed error for one failed operation of a transact reply. */
export function operationError(
  index: number,
  op: Record<string, unknown> | undefined,
  error: string,
  details: string | undefined,
): OperationError {
  if (error === 'timed out' && op?.op === 'wait') return new WaitFailed(index, op, error, details);
  if (error === 'constraint violation') return new ConstraintViolation(index, op, error, details);
  if (error === 'referential integrity violation')
    return new ReferentialIntegrityViolation(index, op, error, details);
  if (error === 'not leader' || error === 'not owner') return new NotLeader(index, op, error, details);
  return new OperationError(index, op, error, details);
}

export const isRetryable = (err: unknown): boolean => err instanceof OvsdbError && err.retryable;
