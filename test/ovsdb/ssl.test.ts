// The client over SSL against a real ovsdb-server with `pssl:` and mutual certificates made here:
// configured the way a deployment configures it (OVN_NB_SSL_{KEY,CERT,CA}_FILE, kube-ovn's
// /var/run/tls/{key,cert,cacert}), with a server certificate without a subject alternative name as
// ovs-pki issues them, and refused when the client trusts another CA or brings no certificate.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, NB_SCHEMA, stopPid, waitFor } from '../../infra/local/services.ts';
import { northboundTls } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import { connectNorthbound } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient, op, sslFileOptions } from '../../shared/ovsdb/index.ts';
import { type CertFiles, makeCa, makeLeaf } from '../setup/certs.ts';

const run = promisify(execFile);

describe('OvsdbClient over ssl:', () => {
  let pid = 0;
  let port = 0;
  let dir = '';
  let ca: CertFiles;
  let otherCa: CertFiles;
  let client: CertFiles;
  let remote = '';
  beforeAll(async () => {
    dir = makeTempDir('vipres-ssl-');
    ca = await makeCa(dir, 'ca');
    otherCa = await makeCa(dir, 'other-ca');
    // ovs-pki's NB certificates name no address: the client must not insist on one.
    const server = await makeLeaf(dir, 'server', ca, { cn: 'ovn' });
    client = await makeLeaf(dir, 'client', ca);
    await run('ovsdb-tool', ['create', join(dir, 'nb.db'), NB_SCHEMA]);
    port = await freePort();
    remote = `ssl:127.0.0.1:${port}`;
    const child = spawn(
      'ovsdb-server',
      [
        join(dir, 'nb.db'),
        `--remote=pssl:${port}:127.0.0.1`,
        `--private-key=${server.key}`,
        `--certificate=${server.cert}`,
        `--ca-cert=${ca.cert}`,
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

  const connect = (tls: Parameters<typeof OvsdbClient.connect>[0]['tls']) =>
    OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound', tls, requestTimeoutMs: 1000 });

  /** Why a connection attempt fails (the reason the client reports), or 'connected'. */
  async function refusal(tls: Parameters<typeof OvsdbClient.connect>[0]['tls']): Promise<string> {
    const c = new OvsdbClient({ remotes: [remote], database: 'OVN_Northbound', tls, requestTimeoutMs: 1000 });
    const reasons: string[] = [];
    c.on('attemptFailed', (_remote, reason) => reasons.push(reason));
    c.start();
    try {
      await c.ready();
      return 'connected';
    } catch (err) {
      expect((err as Error).name).toBe('NotConnected');
      return reasons.join('; ');
    } finally {
      c.close();
    }
  }

  it('connects with a client certificate, checks the server certificate, and transacts', async () => {
    const c = await waitFor('ssl connect', () =>
      connect(sslFileOptions({ keyFile: client.key, certFile: client.cert, caFile: ca.cert })),
    );
    try {
      await c.transact([op.insert('Logical_Switch', { name: 'over-ssl' })]);
      const [r] = await c.transact([op.select('Logical_Switch', [])]);
      expect(r?.rows?.map((row) => row.name)).toEqual(['over-ssl']);
    } finally {
      c.close();
    }
  });

  it('is configured from the environment, as the functions and the audit read it', async () => {
    const env = {
      OVN_NB_REMOTES: remote,
      OVN_NB_SSL_KEY_FILE: client.key,
      OVN_NB_SSL_CERT_FILE: client.cert,
      OVN_NB_SSL_CA_FILE: ca.cert,
    };
    const config = readConfig(env);
    expect(config.nbSsl).toEqual({ keyFile: client.key, certFile: client.cert, caFile: ca.cert });
    const nb = await waitFor('ssl connect from config', () =>
      connectNorthbound({ remotes: config.nbRemotes!, portCache: false, ...northboundTls(config) }),
    );
    try {
      const [r] = await nb.client.transact([op.select('Logical_Switch', [['name', '==', 'over-ssl']])]);
      expect(r?.rows).toHaveLength(1);
    } finally {
      await nb.close();
    }
    // An ssl: remote without the files is a configuration error, named as such.
    expect(() => readConfig({ OVN_NB_REMOTES: remote })).toThrow(/OVN_NB_SSL_KEY_FILE/);
    expect(() => readConfig({ ...env, OVN_NB_SSL_CA_FILE: '' })).toThrow(/also need OVN_NB_SSL_CA_FILE/);
  });

  it('refuses a server signed by another CA, and the server refuses a client without a certificate', async () => {
    // The client checks the server's chain against the configured CA only.
    expect(
      await refusal(sslFileOptions({ keyFile: client.key, certFile: client.cert, caFile: otherCa.cert })),
    ).toMatch(/self[- ]signed|unable to verify|certificate/i);
    // The system's CAs are not the server's either.
    expect(await refusal({ key: readFileSync(client.key), cert: readFileSync(client.cert) })).toMatch(
      /self[- ]signed|unable to verify|certificate/i,
    );
    // ovsdb-server with --ca-cert requires a client certificate.
    expect(await refusal({ ca: readFileSync(ca.cert), checkServerIdentity: () => undefined })).toMatch(
      /certificate required/,
    );
  });

  it('checks the host name only when asked to, as ovn-nbctl does not', async () => {
    const named = await refusal(
      sslFileOptions(
        { keyFile: client.key, certFile: client.cert, caFile: ca.cert },
        { serverName: 'nb.example' },
      ),
    );
    expect(named).toMatch(/does not match|altnames|Hostname/i);
  });
});
