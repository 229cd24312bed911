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
import { createKube, type Kube } from '../../shared/kube/index.ts';

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

/** The API server with the `ovn-default` Subnet, and a client of it (the client tests' setup). */
export async function startClientFixture(token: string): Promise<{ api: TestApiServer; kube: Kube }> {
  const api = await startTestApiServer(token);
  const kube = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  await kube.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: 'ovn-default' },
    spec: { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' },
  });
  return { api, kube };
}

/** A Vip of `ovn-default` with the given labels. */
export const vipObject = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Vip',
  metadata: { name, labels },
  spec: { subnet: 'ovn-default', type: '' },
});
