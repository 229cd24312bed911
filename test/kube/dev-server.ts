// The development API server as each Kubernetes test file starts it: the project's CRDs, a temp
// dir of its own (kubeconfig, CA) that goes when it stops.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DevApiServer,
  type DevApiServerOptions,
  startDevApiServer,
} from '../../infra/dev-apiserver/index.ts';
import { makeTempDir } from '../../infra/local/services.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
const CRD_DIR = join(ROOT, 'infra/manifests/crds');
export const CRD_FILES = readdirSync(CRD_DIR).map((f) => join(CRD_DIR, f));

export interface TestApiServer {
  server: DevApiServer;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestApiServer(
  token: string,
  opts: Omit<DevApiServerOptions, 'dir' | 'token'> = {},
): Promise<TestApiServer> {
  const dir = makeTempDir('vipres-kube-');
  const server = await startDevApiServer({ dir, token, crdFiles: CRD_FILES, ...opts });
  return {
    server,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
