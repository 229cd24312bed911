// The development API server as its own process for bench/apiserver.bench.ts, so its CPU, RSS and
// heap are measured apart from the load generator. Started with fork(): it sends {url, token, ca}
// once listening and answers 'stats' with its memory (after a full GC) and CPU so far.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDevApiServer } from '../infra/dev-apiserver/index.ts';
import { makeTempDir } from '../infra/local/services.ts';

const root = new URL('../', import.meta.url).pathname;
// Compiled under dist/, the YAML stays in the source tree.
const crdDir = [join(root, 'infra/manifests/crds'), join(root, '../infra/manifests/crds')].find((d) => {
  try {
    return readdirSync(d).length > 0;
  } catch {
    return false;
  }
}) as string;
const dir = makeTempDir('vipres-bench-apiserver-');
const server = await startDevApiServer({
  dir,
  token: 'bench',
  crdFiles: readdirSync(crdDir).map((f) => join(crdDir, f)),
});

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (msg: { id: number; cmd: string }) => {
  if (msg.cmd === 'stats') {
    gc?.();
    const m = process.memoryUsage();
    const c = process.cpuUsage();
    process.send?.({
      id: msg.id,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      cpuMs: (c.user + c.system) / 1000,
    });
  }
  if (msg.cmd === 'stop') {
    void server.stop().then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.send?.({ ready: true, url: server.url, token: server.token, ca: server.ca });
