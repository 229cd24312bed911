// The holder sync as its process runs it (infra/holder/main.ts with HEALTH_PORT): /metrics shows
// its counters and readiness gauges, and /readyz follows the southbound server being stopped (by
// pid) and started again.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  makeTempDir,
  type OvsdbServer,
  startSbServer,
  stopPid,
  waitFor,
} from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';
import { parseMetrics, sum } from './scrape.ts';

let sb: OvsdbServer;
let api: TestApiServer;
let holder: ChildProcess;
let base: string;
const dir = makeTempDir('vipres-holder-');

beforeAll(async () => {
  mkdirSync(join(dir, 'sb'));
  sb = await startSbServer({ dir: join(dir, 'sb') });
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  holder = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/holder/main.ts')], {
    env: {
      ...process.env,
      OVN_SB_REMOTES: sb.remote,
      KUBECONFIG: api.server.kubeconfigPath,
      HEALTH_PORT: String(port),
      HEALTH_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
}, 60_000);

afterAll(async () => {
  if (holder?.pid) await stopPid(holder.pid);
  await api?.stop();
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const readyz = async () => {
  const r = await fetch(`${base}/readyz`).catch(() => undefined);
  return r ? { status: r.status, text: await r.text() } : { status: 0, text: '' };
};

describe('the holder process', () => {
  it('is ready with SB and the API server up, and shows its metrics', async () => {
    await waitFor('ready', async () => (await readyz()).status === 200, { timeoutMs: 30_000 });
    expect((await readyz()).text).toBe('ok\nsb: ok\napiserver: ok\n');
    const samples = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    expect(sum(samples, 'vip_ready')).toBe(1);
    expect(sum(samples, 'vip_dependency_up', { dependency: 'sb' })).toBe(1);
    expect(samples.filter((s) => s.name === 'vip_holder_changes_total').map((s) => s.labels.change)).toEqual([
      'claimed',
      'moved',
      'released',
    ]);
  }, 40_000);

  it('turns unready within seconds of SB stopping and ready again once it is back', async () => {
    await sb.stop();
    const t0 = Date.now();
    await waitFor('unready', async () => (await readyz()).status === 503, { timeoutMs: 20_000 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await readyz()).text).toMatch(/^not ready\nsb: .+\napiserver: ok\n$/);
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    sb = await sb.respawn();
    await waitFor('ready again', async () => (await readyz()).status === 200, { timeoutMs: 20_000 });
  }, 40_000);
});
