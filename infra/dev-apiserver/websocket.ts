// The server side of RFC 6455, only as much as the exec subresource needs: the upgrade handshake,
// masked client frames (fragmented or not), unmasked binary frames from the server, ping/pong and
// close. `ws` is only a transitive dependency here, and this is about 150 lines.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Larger client messages are refused (1009): stdin chunks and resize messages are small. */
const MAX_MESSAGE = 16 * 1024 * 1024;

export const acceptKey = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

/** The subprotocols a client offers, in its order of preference. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  const all = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return all
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const isWebSocketUpgrade = (req: IncomingMessage) =>
  (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
  typeof req.headers['sec-websocket-key'] === 'string';

/** One frame, unmasked (servers never mask). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export interface WebSocketConn {
  readonly protocol: string;
  /** One binary message. */
  send(data: Buffer): void;
  /** Sends a close frame (once) and ends the socket once the client answers, or after 2 s. */
  close(code?: number, reason?: string): void;
  onMessage: (data: Buffer) => void;
  onClose: () => void;
}

/**
 * Answers the upgrade with 101 and `protocol`, and returns the connection. Incoming frames are
 * parsed as they arrive: data messages go to onMessage, pings are answered, a close is echoed.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
): WebSocketConn {
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}`,
      ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []),
      '',
      '',
    ].join('\r\n'),
  );
  let buf: Buffer = head.length > 0 ? Buffer.from(head) : Buffer.alloc(0);
  let fragments: Buffer[] = [];
  let closing = false;
  let closed = false;
  let closeTimer: NodeJS.Timeout | undefined;
  const conn: WebSocketConn = {
    protocol,
    send(data) {
      if (!closing && !socket.destroyed) socket.write(encodeFrame(0x2, data));
    },
    close(code = 1000, reason = '') {
      if (closing || socket.destroyed) return;
      closing = true;
      const body = Buffer.alloc(2 + Buffer.byteLength(reason));
      body.writeUInt16BE(code, 0);
      body.write(reason, 2);
      socket.write(encodeFrame(0x8, body));
      closeTimer = setTimeout(() => socket.destroy(), 2000);
      closeTimer.unref();
    },
    onMessage: () => {},
    onClose: () => {},
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    clearTimeout(closeTimer);
    conn.onClose();
  };
  socket.on('close', finish);
  socket.on('error', () => socket.destroy());

  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const b0 = buf[0]!;
      const b1 = buf[1]!;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return fail(1009);
        len = Number(big);
        off = 10;
      }
      // A client must mask every frame (RFC 6455 5.1).
      if (!masked) return fail(1002);
      if (len > MAX_MESSAGE) return fail(1009);
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      buf = buf.subarray(off + 4 + len);
      if (opcode === 0x8) {
        if (!closing) {
          closing = true;
          socket.write(encodeFrame(0x8, payload.subarray(0, 2)));
        }
        socket.end();
        return;
      }
      if (opcode === 0x9) {
        if (!closing) socket.write(encodeFrame(0xa, payload));
        continue;
      }
      if (opcode === 0xa) continue;
      if (opcode === 0x0 || opcode === 0x1 || opcode === 0x2) {
        fragments.push(payload);
        if (fragments.reduce((n, f) => n + f.length, 0) > MAX_MESSAGE) return fail(1009);
        if (fin) {
          const msg = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
          fragments = [];
          conn.onMessage(msg);
        }
        continue;
      }
      return fail(1002);
    }
  };
  const fail = (code: number) => {
    conn.close(code);
    buf = Buffer.alloc(0);
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    parse();
  });
  if (buf.length > 0) queueMicrotask(parse);
  return conn;
}
