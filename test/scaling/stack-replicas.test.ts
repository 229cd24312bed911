// Replicas added and removed while a stack runs (the autoscaler's moves): the relay reads its
// watched sinks file, events reach the new replica, a removed one gets nothing new, every Vip
// ends Ready. Through the latency proxies, so the functions' back-end paths are exercised too.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { type E2E, startE2E } from '../e2e/harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ replicas: 1, dynamicSinks: true, functionRttMs: 4 });
});
afterAll(async () => {
  await e2e?.stop();
});

/** Events a replica handled, from its own /metrics. */
async function eventsSeen(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vip_reconcile_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

const createVips = async (prefix: string, n: number) => {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      e2e.kube.create('Vip', {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name: `${prefix}-${i}` },
        spec: { subnet: 'ovn-default' },
      }),
    ),
  );
  for (let i = 0; i < n; i++)
    await e2e.waitVip(`${prefix}-${i}`, (v) => v.status?.ready === true, 'Ready', 30_000);
};

describe('stack replicas that come and go', () => {
  it('a replica added gets events through the relay; a removed one leaves, and nothing is lost', async () => {
    const { stack } = e2e;
    const second = await stack.addReplica();
    expect(stack.functions).toHaveLength(2);
    await waitFor(
      'the relay to take the new sink list',
      async () => readFileSync(stack.relay!.logFile, 'utf8').includes(`${second.url}/events`),
      { timeoutMs: 10_000 },
    );
    await createVips('grow', 30);
    expect(await eventsSeen(second.healthUrl)).toBeGreaterThan(0);

    await stack.removeReplica(500);
    expect(stack.functions).toHaveLength(1);
    await createVips('shrink', 10);
    const vips = await e2e.kube.listVips();
    expect(vips.filter((v) => v.status?.ready)).toHaveLength(40);
  });
});
