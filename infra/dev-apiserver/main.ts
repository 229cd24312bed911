// CLI: `tsx infra/dev-apiserver/main.ts --dir .local/apiserver [--port 6443] [--token T]
//   [--crds infra/manifests/crds] [--apply file.yaml] [--webhook name=url]`
// Prints one JSON line {url, token, kubeconfigPath} once listening; stops on SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevApiServer } from './index.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.local/apiserver' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    crds: { type: 'string', multiple: true, default: ['infra/manifests/crds'] },
    apply: { type: 'string', multiple: true, default: [] },
    webhook: { type: 'string', multiple: true, default: [] },
  },
});

const yamlFiles = (p: string): string[] =>
  p === ''
    ? [] // `--crds ''` starts without CRDs
    : statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(p, f))
      : [p];

// Handlers first: a signal that arrives while starting (or right after the line is printed) must
// still stop the server cleanly rather than kill the process by default action.
let stopServer: (() => Promise<void>) | undefined;
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void (stopServer?.() ?? Promise.resolve()).then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

const token = values.token ?? process.env.DEV_APISERVER_TOKEN ?? randomBytes(16).toString('hex');
const server = await startDevApiServer({
  dir: values.dir as string,
  port: Number(values.port),
  host: values.host,
  token,
  crdFiles: (values.crds ?? []).flatMap(yamlFiles),
  applyFiles: (values.apply ?? []).flatMap(yamlFiles),
  admissionWebhooks: (values.webhook ?? []).map((w) => {
    const [name, url] = w.split('=');
    return {
      name: name as string,
      url: url as string,
      resources: [{ group: 'kubeovn.io', resource: 'vips' }],
    };
  }),
});
stopServer = () => server.stop();
if (stopping) await server.stop().then(() => process.exit(0));
console.log(JSON.stringify({ url: server.url, token: server.token, kubeconfigPath: server.kubeconfigPath }));
