// Raw HTTP for the limits and fuzz tests: the app served by @hono/node-server on a free loopback
// port, and a client that controls framing (Content-Length or chunked, a body sent slowly or
// never finished), which fetch does not.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface Served {
  port: number;
  close(): Promise<void>;
}

/** Serves `fetch` on 127.0.0.1 and a free port. */
export async function serveApp(fetch: (req: Request) => Response | Promise<Response>): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      }),
    );
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Body bytes the client had handed to the socket when the answer's head arrived. */
  sentBeforeAnswer: number;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer of any shape
  json(): any;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** A whole body, sent with Content-Length unless `headers` say otherwise. */
  body?: string | Buffer;
  /**
   * A streamed body: `chunk` is written again and again (chunked unless a Content-Length header
   * is given) until the server answers or `maxBytes` were written; the stream is never ended
   * unless `end` is set.
   */
  stream?: { chunk: Buffer; maxBytes: number; end?: boolean };
  timeoutMs?: number;
}

/** One request on a fresh connection (no keep-alive), answered or timed out. */
export function rawRequest(port: number, r: RawRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string> = { ...r.headers };
    if (
      r.body !== undefined &&
      !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))
    )
      headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = request({
      host: '127.0.0.1',
      port,
      method: r.method,
      path: r.path,
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new Error(
          `no answer to ${r.method} ${r.path} within ${r.timeoutMs ?? 10_000} ms (sent ${sent} bytes)`,
        ),
      );
    }, r.timeoutMs ?? 10_000);
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          sentBeforeAnswer,
          json: () => JSON.parse(text),
        });
      });
    });
    // The server may close the connection while we are still writing: that is the point.
    req.on('error', (err) => {
      if (!answered) {
        clearTimeout(timer);
        reject(Object.assign(err, { sent }));
      }
    });
    if (r.stream) {
      const { chunk, maxBytes, end } = r.stream;
      // One chunk per event-loop turn, so the answer is read as soon as it comes (a client that
      // kept writing past it would get a reset once the server stops draining, and lose it).
      const pump = () => {
        if (answered || req.destroyed) return;
        if (sent >= maxBytes) {
          if (end) req.end();
          return;
        }
        sent += chunk.length;
        if (req.write(chunk)) setImmediate(pump);
        else req.once('drain', () => setImmediate(pump));
      };
      pump();
    } else {
      if (r.body !== undefined) {
        sent = Buffer.byteLength(r.body);
        req.write(r.body);
      }
      req.end();
    }
  });
}
