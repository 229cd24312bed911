// Secrets in the local stack: no process the stack started shows a secret on its command line
// (/proc/<pid>/cmdline is what ps prints, to every user), the functions and the relay get theirs
// from files, and the stack's Redis refuses a client without its password while the whole system
// (relay -> functions -> Redis and NB, the audit) keeps working with it.
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startedPids } from '../../infra/local/services.ts';
import { openAuditPorts } from '../../infra/wiring/audit.ts';
import { auditSystem } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E({ replicas: 2 });
}, 120_000);
afterAll(async () => {
  await e?.stop();
});

/** Sends raw RESP text and returns the first reply bytes (enough for these one-line answers). */
function rawRedis(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    let got = '';
    const lines = text.split('\r\n').filter(Boolean).length;
    socket.on('data', (chunk) => {
      got += chunk.toString('utf8');
      if (got.split('\r\n').filter(Boolean).length >= lines) {
        socket.end();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer from Redis on ${port} (got ${JSON.stringify(got)})`));
    });
  });
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

describe('secrets of the local stack', () => {
  it('are on no command line of any process the stack started', () => {
    const { stack } = e;
    const secrets = {
      'API token': stack.apiToken,
      'relay HMAC key': stack.relaySecret,
      'Redis password': stack.redisPassword,
      'API server token': stack.apiServer.token,
    };
    const pids = new Set([
      ...startedPids(),
      stack.redis!.pid,
      stack.nb!.pid,
      stack.relay!.pid,
      ...stack.functions.map((f) => f.pid),
    ]);
    // Redis, NB, two replicas and the relay at least.
    expect(pids.size).toBeGreaterThanOrEqual(5);
    const lines = [...pids].map((pid) => ({ pid, line: cmdline(pid) }));
    // The relay is the process that used to carry its key as `--secret KEY`.
    expect(lines.find((l) => l.pid === stack.relay!.pid)?.line).toContain('infra/relay/main');
    for (const { pid, line } of lines) {
      for (const [what, value] of Object.entries(secrets)) {
        expect(value.length).toBeGreaterThanOrEqual(16);
        expect(line.includes(value), `${what} on the command line of pid ${pid}: ${line}`).toBe(false);
      }
    }
  });

  it('come from files only we can read, named by *_FILE variables', () => {
    const { stack } = e;
    expect(statSync(stack.secretsDir).mode & 0o777).toBe(0o700);
    for (const [file, value] of [
      ['api-token', stack.apiToken],
      ['relay-secret', stack.relaySecret],
      ['redis-password', stack.redisPassword],
    ] as const) {
      expect(readFileSync(join(stack.secretsDir, file), 'utf8')).toBe(value);
      expect(statSync(join(stack.secretsDir, file)).mode & 0o777).toBe(0o600);
    }
    const env = readFileSync(`/proc/${stack.functions[0]!.pid}/environ`, 'utf8').split('\0');
    expect(env).toContain(`API_TOKEN_FILE=${join(stack.secretsDir, 'api-token')}`);
    expect(env).toContain(`REDIS_PASSWORD_FILE=${join(stack.secretsDir, 'redis-password')}`);
    expect(env.some((kv) => kv.startsWith('API_TOKEN=') || kv.startsWith('RELAY_SECRET='))).toBe(false);
  });
});

describe("the stack's Redis requires its password", () => {
  it('refuses a client without it, and the system works with it', async () => {
    const port = e.stack.redis!.port;
    // On the wire: a command without AUTH is refused, and so is a wrong password.
    expect(await rawRedis(port, 'GET anything\r\n')).toMatch(/^-NOAUTH/);
    expect(await rawRedis(port, 'AUTH wrong-password\r\n')).toMatch(/^-WRONGPASS/);
    expect(await rawRedis(port, `AUTH ${e.stack.redisPassword}\r\nPING\r\n`)).toBe('+OK\r\n+PONG\r\n');
    // A client library without the password does not get a connection at all.
    const errors: string[] = [];
    const anonymous = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    anonymous.on('error', (err) => errors.push(err.message));
    await expect(anonymous.connect()).rejects.toThrow();
    anonymous.disconnect();
    expect(errors.join('\n')).toMatch(/NOAUTH/);

    // Through the relay to the function replicas, which read the password from their file.
    await e.apply(vipObject('secret-vip', { subnet: 'ovn-default' }));
    const vip = await e.waitVip('secret-vip', (v) => readyCondition(v)?.status === 'True', 'Ready', 30_000);
    expect(vip.status?.v4ip).toMatch(/^10\.16\./);
    // The manual API with the token from its file.
    const res = await fetch(`${e.stack.functions[1]!.url}/v1/subnets/ovn-default`, {
      headers: { authorization: `Bearer ${readFileSync(join(e.stack.secretsDir, 'api-token'), 'utf8')}` },
    });
    expect(res.status).toBe(200);
    // The audit connects with the password (inside the stack's URL) and finds nothing wrong.
    const ports = await openAuditPorts(
      readConfig({
        REDIS_URL: e.stack.redisUrl,
        OVN_NB_REMOTES: e.stack.nbRemote,
        KUBECONFIG: e.stack.kubeconfig,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      const result = await auditSystem(ports);
      expect(result.drifts).toEqual([]);
    } finally {
      await ports.close();
    }
  });
});
