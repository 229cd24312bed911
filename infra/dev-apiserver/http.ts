// Small HTTP helpers of the API server: JSON replies, Warning headers, request bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from './errors.ts';

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

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  const before = res.getHeader('Warning');
  const prior = Array.isArray(before) ? before : before === undefined ? [] : [String(before)];
  res.setHeader('Warning', [...prior, ...warnings.map((w) => `299 - ${JSON.stringify(w)}`)]);
}

function readText(req: IncomingMessage): Promise<string> {
  // Plain events rather than `for await`: the async iterator costs more than the small body.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the request was aborted'));
    });
  });
}

export async function readBody(req: IncomingMessage, optional = false): Promise<unknown> {
  const text = await readText(req);
  if (text.trim() === '') {
    if (optional) return undefined;
    throw badRequest('the request body is empty');
  }
  const type = req.headers['content-type'] ?? '';
  try {
    return /yaml/.test(type) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body could not be decoded: ${(err as Error).message}`);
  }
}
