// Certificates for the development API server. kubectl sends a bearer token only over TLS, so the
// server always serves HTTPS: a private CA, a server certificate for 127.0.0.1/localhost, and a
// client certificate (CN=dev-admin, O=system:masters) that authenticates like the token does.
// Made once per folder with the openssl CLI and reused afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  caPath: string;
  clientCertPath: string;
  clientKeyPath: string;
}

const openssl = (cwd: string, ...args: string[]) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

function issue(dir: string, name: string, subject: string, ext: string): void {
  const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, 'req', ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '3650',
    '-extfile',
    `${name}.ext`,
  );
}

export function ensureCertificates(dir: string): DevCertificates {
  const tlsDir = join(dir, 'pki');
  mkdirSync(tlsDir, { recursive: true });
  if (!existsSync(join(tlsDir, 'client.crt'))) {
    openssl(
      tlsDir,
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=vipres-dev-ca',
    );
    issue(
      tlsDir,
      'server',
      '/CN=vipres-dev-apiserver',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    issue(tlsDir, 'client', '/O=system:masters/CN=dev-admin', 'extendedKeyUsage=clientAuth\n');
  }
  const read = (f: string) => readFileSync(join(tlsDir, f), 'utf8');
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    caPath: join(tlsDir, 'ca.crt'),
    clientCertPath: join(tlsDir, 'client.crt'),
    clientKeyPath: join(tlsDir, 'client.key'),
  };
}
