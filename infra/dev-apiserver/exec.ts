// The pods/exec subresource as kubectl 1.32 speaks it by default: a WebSocket with subprotocol
// `v5.channel.k8s.io` (or `v4.channel.k8s.io`). Every binary message starts with a channel byte:
// 0 stdin, 1 stdout, 2 stderr, 3 the final metav1.Status, 4 terminal resize; v5 adds 255 "close
// channel" (the client's stdin EOF). The command itself runs wherever an ExecBackend runs it: the
// local node agent plays the kubelet's part. SPDY (kubectl's fallback) is not served; checks that
// fail before the upgrade are answered as a plain Status, which kubectl prints after either.
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { ApiError, badRequest } from './errors.ts';
import type { KubeObject } from './selectors.ts';
import { acceptWebSocket, isWebSocketUpgrade, offeredProtocols } from './websocket.ts';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string | undefined;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A started command: its pipes (null when not asked for) and its exit code. */
export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Resolves with the exit code once the command ended and its output was read. */
  exited: Promise<number>;
  resize?(cols: number, rows: number): void;
  kill(): void;
}

/** What runs commands "in" a pod: the kubelet on a real node, the node agent here. */
export interface ExecBackend {
  /** Throws ExecRefused when the pod cannot run a command (yet); the message says why. */
  check(req: ExecRequest): void;
  start(req: ExecRequest): ExecProcess;
}

export class ExecRefused extends Error {}

/** ExecRefused becomes a 400, as kube-apiserver answers for a pod that has no node yet. */
function refused<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ExecRefused) throw badRequest(err.message);
    throw err;
  }
}

const truthy = (v: string | null) => v !== null && v !== '' && v.toLowerCase() !== 'false' && v !== '0';

/** The query of an exec request, checked as kube-apiserver checks PodExecOptions. */
export function parseExecQuery(namespace: string, pod: string, q: URLSearchParams): ExecRequest {
  const command = q.getAll('command');
  if (command.length === 0) throw badRequest('you must specify at least 1 command');
  const r: ExecRequest = {
    namespace,
    pod,
    container: q.get('container') || undefined,
    command,
    stdin: truthy(q.get('stdin')),
    stdout: truthy(q.get('stdout')),
    stderr: truthy(q.get('stderr')),
    tty: truthy(q.get('tty')),
  };
  if (!r.stdin && !r.stdout && !r.stderr)
    throw badRequest('you must specify at least one of stdin, stdout, stderr');
  // With a terminal, stderr is part of stdout (kube-apiserver refuses both at once).
  if (r.tty && r.stderr) throw badRequest('tty and stderr cannot both be true');
  return r;
}

/** The pod's container the command is for: the named one, or the first (kubectl names it anyway). */
export function checkContainer(pod: KubeObject, container: string | undefined): void {
  const containers = ((pod.spec as { containers?: { name?: string }[] } | undefined)?.containers ?? []).map(
    (c) => c.name,
  );
  if (container && !containers.includes(container))
    throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
}

/** The Status sent on channel 3 when the command ends, as the kubelet writes it. */
export function exitStatus(code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The first protocol of the client's list that we speak (the client's preference wins). */
export const pickProtocol = (offered: string[]) =>
  offered.find((p) => (EXEC_PROTOCOLS as readonly string[]).includes(p));

/** A Status answered on the raw socket before (instead of) the upgrade. */
export function refuseUpgrade(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  const reason = err.code === 404 ? 'Not Found' : err.code === 503 ? 'Service Unavailable' : 'Error';
  socket.end(
    `HTTP/1.1 ${err.code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export interface ExecContext {
  backend: ExecBackend | undefined;
  /** Why there is no backend (shown to the user). */
  unavailable: string;
  getPod(namespace: string, name: string): KubeObject;
}

/**
 * Serves one upgrade request on pods/{name}/exec. Everything that can be refused is refused before
 * the 101, so the client sees a Status with a code; then the command's output streams, and its
 * exit code ends the connection on channel 3.
 */
export function serveExec(
  ctx: ExecContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: { namespace: string; pod: string; q: URLSearchParams },
): void {
  let proc: ExecProcess;
  let protocol: string;
  try {
    // The pod and the backend first: after a refused WebSocket, kubectl retries with SPDY, and
    // prints only the second answer, so both must carry the reason.
    const pod = ctx.getPod(target.namespace, target.pod);
    const execReq = parseExecQuery(target.namespace, target.pod, target.q);
    checkContainer(pod, execReq.container);
    if (!ctx.backend) throw new ApiError(503, 'ServiceUnavailable', ctx.unavailable);
    const backend = ctx.backend;
    refused(() => backend.check(execReq));
    if (!isWebSocketUpgrade(req))
      throw badRequest(
        'this development API server serves exec over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) only, not SPDY',
      );
    const chosen = pickProtocol(offeredProtocols(req));
    if (!chosen) throw badRequest(`no supported subprotocol: offer one of ${EXEC_PROTOCOLS.join(', ')}`);
    protocol = chosen;
    proc = refused(() => backend.start(execReq));
  } catch (err) {
    const apiErr =
      err instanceof ApiError
        ? err
        : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
    refuseUpgrade(socket, apiErr);
    return;
  }
  const ws = acceptWebSocket(req, socket, head, protocol);
  const out = (channel: number, data: Buffer) => ws.send(Buffer.concat([Buffer.of(channel), data]));
  // The client's heartbeat may find nothing to read for a long time; an empty stdout message tells
  // it the stream is up (the kubelet does the same).
  out(CHANNEL.stdout, Buffer.alloc(0));
  proc.stdout?.on('data', (d: Buffer) => out(CHANNEL.stdout, d));
  proc.stderr?.on('data', (d: Buffer) => out(CHANNEL.stderr, d));
  proc.stdin?.on('error', () => {}); // the command may end before it reads its input
  let done = false;
  ws.onMessage = (msg) => {
    if (msg.length === 0) return;
    const channel = msg[0];
    const data = msg.subarray(1);
    if (channel === CHANNEL.stdin) {
      if (data.length > 0 && proc.stdin && !proc.stdin.writableEnded) proc.stdin.write(data);
    } else if (channel === CHANNEL.resize) {
      try {
        const size = JSON.parse(data.toString()) as { Width?: number; Height?: number };
        if (size.Width && size.Height) proc.resize?.(size.Width, size.Height);
      } catch {
        // a malformed resize changes nothing
      }
    } else if (channel === CHANNEL.close && protocol.startsWith('v5') && data[0] === CHANNEL.stdin) {
      proc.stdin?.end();
    }
  };
  ws.onClose = () => {
    // The client went away (Ctrl-C): the command goes too, as with the kubelet.
    if (!done) proc.kill();
  };
  proc.exited.then(
    (code) => {
      done = true;
      out(CHANNEL.error, Buffer.from(JSON.stringify(exitStatus(code))));
      ws.close(1000);
    },
    (err: unknown) => {
      done = true;
      out(
        CHANNEL.error,
        Buffer.from(
          JSON.stringify({
            metadata: {},
            status: 'Failure',
            message: (err as Error).message,
            reason: 'InternalError',
          }),
        ),
      );
      ws.close(1000);
    },
  );
}
