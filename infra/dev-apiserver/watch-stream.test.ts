import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevApiServer, startDevApiServer } from './index.ts';

let server: DevApiServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watch-stream-'));
  server = await startDevApiServer({ dir, token: 't' });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a watch; resolves once the headers are in, collecting each data chunk as it comes. */
function openWatch(path: string): Promise<{ chunks: string[]; ended: Promise<void> }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    request(url, { ca: server.ca, headers: { authorization: 'Bearer t' } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => chunks.push(c));
      resolve({ chunks, ended: new Promise((r) => res.on('end', () => r())) });
    })
      .on('error', reject)
      .end();
  });
}

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});

describe('watch stream', () => {
  it('sends the changes of one turn of the event loop together, in order, and all before the end', async () => {
    const pods = server.api.resource('', 'pods');
    const rv = server.api.store.resourceVersion;
    const w = await openWatch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`);
    const names = Array.from({ length: 50 }, (_, i) => `batch-${i}`);
    for (const n of names) server.api.store.create(pods, pod(n));
    // Ended in the same turn as the changes: the pending events still go out first.
    server.api.closeWatches();
    await w.ended;
    const lines = w.chunks.join('').split('\n').filter(Boolean);
    const events = lines.map(
      (l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } },
    );
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(names.map((n) => `ADDED ${n}`));
    expect(w.chunks.length).toBeLessThan(names.length / 5);
  });

  it('carries the same bytes to every watcher and in the reply to the write', async () => {
    const rv = server.api.store.resourceVersion;
    const path = `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`;
    const [a, b] = await Promise.all([openWatch(path), openWatch(path)]);
    const reply = await new Promise<string>((resolve, reject) => {
      const body = JSON.stringify(pod('shared'));
      request(
        new URL('/api/v1/namespaces/default/pods', server.url),
        {
          method: 'POST',
          ca: server.ca,
          headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve(text));
        },
      )
        .on('error', reject)
        .end(body);
    });
    const line = `{"type":"ADDED","object":${reply}}\n`;
    await expect.poll(() => a.chunks.join('')).toBe(line);
    await expect.poll(() => b.chunks.join('')).toBe(line);
    server.api.closeWatches();
  });
});
