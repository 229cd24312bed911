// The watch stream's line framing against a real HTTP server that cuts lines at odd places.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, expect, it } from 'vitest';
import { kubeTransport, type WatchLine } from '../../infra/relay/kube-transport.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

it('splits watch lines across and within chunks, in order', async () => {
  const line = (name: string) =>
    `${JSON.stringify({ type: 'ADDED', object: { metadata: { name, resourceVersion: name } } })}\n`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const all = line('a') + line('b') + line('c');
    const d = line('d');
    res.write(all + d.slice(0, 10));
    setTimeout(() => {
      res.write(d.slice(10, 20));
      setTimeout(() => res.end(`${d.slice(20)}\n${line('e')}`), 5);
    }, 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const seen: WatchLine[] = [];
  const end = await kubeTransport(kc).watch(
    '/api/v1/pods',
    {},
    (l) => seen.push(l),
    new AbortController().signal,
  );
  expect(end).toEqual({ kind: 'closed' });
  expect(seen.map((l) => (l.object.metadata as { name: string }).name)).toEqual(['a', 'b', 'c', 'd', 'e']);
});
