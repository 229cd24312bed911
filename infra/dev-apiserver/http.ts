// Small HTTP helpers of the API server: JSON replies, Warning headers, request bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, entityTooLarge, MAX_REQUEST_BODY_BYTES } from './errors.ts';
import { decodeProtobuf, isProtobuf, ProtobufError } from './protobuf.ts';

export const notFoundPath = () =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource');

/** `text` is the body already encoded, when the caller has it (encoding.ts). */
export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  text = JSON.stringify(body),
): void {
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Lists of more items than this are written in pieces (sendList). */
export const STREAM_LIST_FROM = 1000;
const LIST_PIECE = 250;

/**
 * A list answer (`head` plus `items`). A large one is written in pieces as it is encoded, waiting
 * for the socket to drain between them, as kube-apiserver streams large lists: a relist of 100,000
 * pods neither holds its whole text twice (string, then bytes) nor stops the server for its length.
 */
export async function sendList(
  res: ServerResponse,
  head: Record<string, unknown>,
  items: readonly unknown[],
): Promise<void> {
  if (items.length <= STREAM_LIST_FROM) return sendJson(res, 200, { ...head, items });
  res.writeHead(200, { 'content-type': 'application/json' });
  let out = `${JSON.stringify(head).slice(0, -1)},"items":[`;
  for (let i = 0; i < items.length; i += LIST_PIECE) {
    const end = Math.min(items.length, i + LIST_PIECE);
    for (let j = i; j < end; j++) out += `${j > 0 ? ',' : ''}${JSON.stringify(items[j])}`;
    if (res.destroyed) return;
    if (!res.write(out)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    out = '';
  }
  if (!res.destroyed) res.end(`${out}]}`);
}

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  const before = res.getHeader('Warning');
  const prior = Array.isArray(before) ? before : before === undefined ? [] : [String(before)];
  res.setHeader('Warning', [...prior, ...warnings.map((w) => `299 - ${JSON.stringify(w)}`)]);
}

/** The whole body, refused with 413 once it passes kube-apiserver's limit (before reading it all). */
function readRaw(req: IncomingMessage): Promise<Buffer> {
  // Plain events rather than `for await`: the async iterator costs more than the small body.
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BODY_BYTES) {
      req.resume();
      reject(entityTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        chunks.length = 0;
        req.off('data', onData);
        req.resume();
        reject(entityTooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the request was aborted'));
    });
  });
}

/** JSON, YAML or (for the built-in kinds) Kubernetes protobuf, as the content type says. */
export async function readBody(req: IncomingMessage, optional = false): Promise<unknown> {
  const raw = await readRaw(req);
  const type = req.headers['content-type'] ?? '';
  if (raw.length > 0 && isProtobuf(type, raw)) {
    try {
      return decodeProtobuf(raw);
    } catch (err) {
      if (err instanceof ProtobufError)
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the protobuf body could not be decoded: ${err.message}`,
        );
      throw err;
    }
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') {
    if (optional) return undefined;
    throw badRequest('the request body is empty');
  }
  try {
    return /yaml/.test(type) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body could not be decoded: ${(err as Error).message}`);
  }
}
