// The fallback kubectl: Debian's kubernetes-client (1.20), unpacked with apt-get download + dpkg -x
// into .cache/kubectl/ (once; later runs reuse it), works against the development API server too.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevApiServer, startDevApiServer } from '../../infra/dev-apiserver/index.ts';
import {
  applyFlags,
  kubectlMinor,
  runKubectl,
  unpackDebianKubectl,
} from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir } from '../../infra/local/services.ts';
import { SEED_VIP_HEADER } from '../setup/seed.ts';

const root = new URL('../../', import.meta.url).pathname;
const crdDir = join(root, 'infra/manifests/crds');
let server: DevApiServer;
let dir: string;
let kubectl: string;

beforeAll(async () => {
  kubectl = unpackDebianKubectl();
  dir = makeTempDir('vipres-debian-kubectl-');
  server = await startDevApiServer({
    dir,
    token: 'debian-token',
    crdFiles: readdirSync(crdDir).map((f) => join(crdDir, f)),
    applyFiles: [join(root, 'infra/manifests/subnet-ovn-default.yaml')],
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Debian's kubectl", () => {
  it('is unpacked into .cache/kubectl and is the 1.20 client', () => {
    expect(kubectl).toBe(join(root, '.cache/kubectl/root/usr/bin/kubectl'));
    expect(existsSync(kubectl)).toBe(true);
    expect(kubectlMinor(kubectl)).toBe(20);
    expect(applyFlags(kubectl)).toEqual(['--validate=false']);
  });

  it("applies the seed's YAML and prints the seed's header", async () => {
    const apply = await runKubectl(
      server.kubeconfigPath,
      ['apply', ...applyFlags(kubectl), '-f', join(root, 'examples')],
      { kubectl },
    );
    expect(apply.stdout).toMatch(/vip.kubeovn.io\/vip-aap created/);
    const get = await runKubectl(server.kubeconfigPath, ['get', 'vip'], { kubectl });
    expect(get.stdout.split('\n')[0]?.split(/\s+/)).toEqual(SEED_VIP_HEADER);
  });
});
