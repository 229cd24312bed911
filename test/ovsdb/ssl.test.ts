// The client over SSL against a real ovsdb-server with `pssl:` and mutual certificates made here.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, NB_SCHEMA, stopPid, waitFor } from '../../infra/local/services.ts';
import { OvsdbClient, op } from '../../shared/ovsdb/index.ts';

const run = promisify(execFile);

async function makeCerts(dir: string) {
  const o = (...args: string[]) => run('openssl', args, { cwd: dir });
  await o(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
  );
  for (const who of ['server', 'client']) {
    await o(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${who}`,
    );
    await o(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.pem`,
      '-days',
      '2',
      '-extfile',
      join(dir, 'san.cnf'),
    );
  }
}

describe('OvsdbClient over ssl:', () => {
  let pid = 0;
  let port = 0;
  let dir = '';
  beforeAll(async () => {
    dir = makeTempDir('vipres-ssl-');
    await run('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${join(dir, 'san.cnf')}`]);
    await makeCerts(dir);
    await run('ovsdb-tool', ['create', join(dir, 'nb.db'), NB_SCHEMA]);
    port = await freePort();
    const child = spawn(
      'ovsdb-server',
      [
        join(dir, 'nb.db'),
        `--remote=pssl:${port}:127.0.0.1`,
        `--private-key=${join(dir, 'server.key')}`,
        `--certificate=${join(dir, 'server.pem')}`,
        `--ca-cert=${join(dir, 'ca.pem')}`,
        `--unixctl=${join(dir, 'nb.ctl')}`,
        `--log-file=${join(dir, 'nb.log')}`,
      ],
      { stdio: 'ignore' },
    );
    pid = child.pid!;
  }, 30_000);
  afterAll(async () => {
    if (pid) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with a client certificate, checks the server certificate, and transacts', async () => {
    const tls = {
      key: readFileSync(join(dir, 'client.key')),
      cert: readFileSync(join(dir, 'client.pem')),
      ca: readFileSync(join(dir, 'ca.pem')),
    };
    const client = await waitFor('ssl connect', () =>
      OvsdbClient.connect({
        remotes: [`ssl:127.0.0.1:${port}`],
        database: 'OVN_Northbound',
        tls,
        requestTimeoutMs: 1000,
      }),
    );
    try {
      await client.transact([op.insert('Logical_Switch', { name: 'over-ssl' })]);
      const [r] = await client.transact([op.select('Logical_Switch', [])]);
      expect(r?.rows?.map((row) => row.name)).toEqual(['over-ssl']);
    } finally {
      client.close();
    }
    // A client that does not trust the server's CA is refused.
    const err = await OvsdbClient.connect({
      remotes: [`ssl:127.0.0.1:${port}`],
      database: 'OVN_Northbound',
      tls: { key: tls.key, cert: tls.cert },
      requestTimeoutMs: 500,
    }).catch((e) => e);
    expect(err?.name).toBe('NotConnected');
  });
});
