// Test certificates made with the openssl CLI: a CA, and leaf certificates it signs (server or
// client). Files are PEM, written into the given directory.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  readonly key: string;
  readonly cert: string;
}

/** A self-signed CA: `<name>.key`, `<name>.pem`. */
export async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const files = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  return files;
}

/**
 * A key and certificate signed by `ca`. `san`: e.g. `IP:127.0.0.1`; absent = no subject
 * alternative name at all, as ovs-pki and kube-ovn issue NB certificates.
 */
export async function makeLeaf(
  dir: string,
  name: string,
  ca: CertFiles,
  opts: { san?: string; cn?: string } = {},
): Promise<CertFiles> {
  const files = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.pem`) };
  const csr = join(dir, `${name}.csr`);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    csr,
    '-subj',
    `/CN=${opts.cn ?? name}`,
  ]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, opts.san ? `subjectAltName=${opts.san}\n` : 'basicConstraints=CA:FALSE\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    files.cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return files;
}
