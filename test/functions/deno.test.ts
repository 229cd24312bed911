// The same app under Deno (the `deno` npm package), against the run's real Redis: it starts,
// reserves an address over HTTP, and stops on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, makeTempDir, stopPid, waitFor } from '../../infra/local/services.ts';
import { createRedisAllocator } from '../../shared/ipam/index.ts';

const root = resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;
const secrets = makeTempDir('vipres-deno-');
afterAll(async () => {
  if (child?.pid) await stopPid(child.pid, 'SIGKILL');
  rmSync(secrets, { recursive: true, force: true });
});

describe('reservation API on Deno', () => {
  it('serves, reserves an address in Redis, and shuts down on SIGTERM', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const denoDir = resolve(root, '.cache/deno');
    mkdirSync(denoDir, { recursive: true });
    // The token by file, as a mounted Secret gives it.
    const tokenFile = join(secrets, 'api-token');
    writeFileSync(tokenFile, 'deno-token\n', { mode: 0o600 });
    let out = '';
    child = spawn(resolve(root, 'node_modules/.bin/deno'), ['run', '-A', 'functions/serve/deno.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DENO_DIR: denoDir,
        REDIS_URL: inject('redisUrl'),
        API_TOKEN: undefined,
        API_TOKEN_FILE: tokenFile,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child?.on('exit', (code) => r(code)));
    await waitFor('deno to listen', async () => out.includes('listening'), {
      timeoutMs: 60_000,
      intervalMs: 200,
    }).catch((e) => {
      throw new Error(`${e}\n${out}`);
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: 'Bearer deno-token', 'content-type': 'application/json' };
    const subnet = `deno-${process.pid}-${Date.now().toString(36)}`;
    const reg = await fetch(`${base}/v1/subnets`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: subnet, cidrBlock: '10.61.0.0/24' }),
    });
    expect(reg.status).toBe(200);
    const res = await fetch(`${base}/v1/subnets/${subnet}/reservations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ owner: 'lb/deno' }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ subnet, owner: 'lb/deno', v4ip: '10.61.0.2' });
    expect((await fetch(`${base}/v1/subnets/${subnet}`)).status).toBe(401);
    // the address really is in Redis, seen by a Node allocator
    const redis = new Redis(inject('redisUrl'));
    try {
      // stored in the manual owner namespace (shared/domain/owner.ts)
      expect((await createRedisAllocator(redis).get(subnet, 'manual/lb/deno'))?.v4).toBe('10.61.0.2');
    } finally {
      redis.disconnect();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('the whole app on Deno', () => {
  it('refuses ADMISSION_CLIENT_CA_FILE at start: Deno cannot tell a verified client certificate', {
    timeout: 90_000,
  }, async () => {
    const caFile = join(secrets, 'client-ca.pem');
    writeFileSync(caFile, 'not read: refused before any file is used\n');
    let out = '';
    const deno = spawn(resolve(root, 'node_modules/.bin/deno'), ['run', '-A', 'functions/serve/deno.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DENO_DIR: resolve(root, '.cache/deno'),
        REDIS_URL: inject('redisUrl'),
        OVN_NB_REMOTES: inject('nbRemote'),
        API_TOKEN: 'deno-token',
        ADMISSION_CLIENT_CA_FILE: caFile,
        // Required beside a client CA; the refusal comes before they are read.
        TLS_CERT_FILE: join(secrets, 'tls.crt'),
        TLS_KEY_FILE: join(secrets, 'tls.key'),
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    deno.stdout.on('data', (d) => {
      out += d;
    });
    deno.stderr.on('data', (d) => {
      out += d;
    });
    const code = await new Promise<number | null>((r) => deno.on('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(out).toContain(
      'ADMISSION_CLIENT_CA_FILE is set but this runtime cannot verify client certificates',
    );
    expect(out).not.toContain('listening');
  });
});
