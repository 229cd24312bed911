// The whole app under Deno, driven the real way (kubectl -> API server -> relay -> replica): the
// e2e scenarios (the seed's three uses, a pod fixed by a Vip, AAP), a SwitchLBRule and the
// admission webhook against a Deno replica; then a mixed stack, one Node and one Deno replica
// behind the relay's routing, which audits clean once the seed has settled.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { keyOf } from '../../infra/relay/cache.ts';
import { pickSink } from '../../infra/relay/routing.ts';
import { type OpenAuditPorts, openAuditPorts } from '../../infra/wiring/audit.ts';
import { type AuditResult, auditSystem } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { type E2E, podObject, startE2E, switchLbRuleObject, vipObject } from './harness.ts';
import { aapScenario } from './scenarios/aap.ts';
import { bindingScenario } from './scenarios/binding.ts';
import { seedScenario } from './scenarios/seed.ts';

const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? '';

/** The replica really is Deno serving every route group (its own listening line says so). */
const expectDenoReplica = (e: E2E, index = 0) => {
  const replica = e.stack.functions[index]!;
  expect(replica.runtime).toBe('deno');
  expect(readFileSync(replica.logFile, 'utf8')).toMatch(
    /functions \(reservation API, \/events, \/admission, \/occupancy; deno\) listening/,
  );
};

describe('the seed on a Deno replica, with the admission webhook served by it', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E({ functionRuntime: 'deno', admission: true });
  }, 120_000);
  afterAll(async () => {
    await e?.stop();
  });

  it('runs Deno', () => expectDenoReplica(e));

  seedScenario(() => e);

  it('refuses a bad Vip at kubectl apply through the Deno webhook, and stores nothing', async () => {
    const bad = vipObject('deno-bad', { subnet: 'ovn-default', v4ip: '10.17.0.5' });
    await expect(e.kubectlApply(bad)).rejects.toThrow(
      /admission webhook "vip-validation.kubeovn.io" denied the request: .*10\.17\.0\.5 is outside 10\.16\.0\.0\/16/,
    );
    expect(await e.vip('deno-bad')).toBeUndefined();
  });
});

describe('a pod fixed by a Vip on a Deno replica', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E({ functionRuntime: 'deno' });
  }, 120_000);
  afterAll(async () => {
    await e?.stop();
  });

  it('runs Deno', () => expectDenoReplica(e));

  bindingScenario(() => e);
});

describe('AAP and a SwitchLBRule on a Deno replica', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E({ functionRuntime: 'deno' });
  }, 120_000);
  afterAll(async () => {
    await e?.stop();
  });

  it('runs Deno', () => expectDenoReplica(e));

  aapScenario(() => e);

  it('puts the rule load balancer on the switch with the selected pods, and removes it', async () => {
    const lbVips = async () =>
      (await e.nbctl('--bare', '--columns=vips', 'find', 'load_balancer', 'name=slr-deno-web-tcp')).trim();
    await e.apply(vipObject('deno-slr', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    const front = (await e.waitVip('deno-slr', (v) => v.status?.ready === true)).status!.v4ip!;
    await e.apply(podObject('default', 'deno-web-a', { labels: { app: 'deno-web' } }));
    const a = ipOf(await e.waitPod('default', 'deno-web-a', (p) => !!ipOf(p)));
    await e.apply(
      switchLbRuleObject('deno-web', {
        vip: front,
        namespace: 'default',
        selector: ['app: deno-web'],
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      }),
    );
    await expect.poll(lbVips, { timeout: 15_000 }).toBe(`${front}:80=${a}:8080`);
    await e.kube.delete('SwitchLBRule', { name: 'deno-web' });
    await expect.poll(lbVips, { timeout: 15_000 }).toBe('');
  });
});

describe('a mixed stack: one Node and one Deno replica behind the relay', () => {
  let e: E2E;
  let ports: OpenAuditPorts;
  beforeAll(async () => {
    e = await startE2E({ functionRuntime: ['node', 'deno'], replicas: 2 });
    ports = await openAuditPorts(
      readConfig({
        REDIS_URL: e.stack.redisUrl,
        OVN_NB_REMOTES: e.stack.nbRemote,
        KUBECONFIG: e.stack.kubeconfig,
        LOG_LEVEL: 'silent',
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await ports?.close();
    await e?.stop();
  });

  it('settles the seed and Vips routed to each runtime, and audits clean', async () => {
    expect(e.stack.functions.map((f) => f.runtime)).toEqual(['node', 'deno']);
    expectDenoReplica(e, 1);
    await e.kubectl('apply', '-f', 'examples/');
    // Vips the relay's hashing sends to each replica, so both runtimes reconcile some.
    const urls = e.stack.functions.map((f) => `${f.url}/events`);
    const routedTo = (url: string) =>
      Array.from({ length: 40 }, (_, i) => `mixed-${i}`).filter(
        (name) => pickSink(keyOf('Vip', vipObject(name, { subnet: 'ovn-default' })), urls) === url,
      );
    const extra = urls.flatMap((url) => routedTo(url).slice(0, 2));
    expect(extra).toHaveLength(4);
    for (const name of extra) await e.apply(vipObject(name, { subnet: 'ovn-default' }));
    for (const name of ['vip-dynamic-01', 'static-vip01', 'vip-aap', 'slr-01', 'pod-use-vip', ...extra])
      await e.waitVip(name, (x) => x.status?.ready === true, 'ready');
    await e.waitVip('vip-aap', (x) => (x.status?.pv4ip ?? '') !== '', 'a parent');
    let last: AuditResult | undefined;
    await waitFor(
      'a clean audit',
      async () => {
        last = await auditSystem(ports);
        return last.drifts.length === 0;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    ).catch(() => undefined);
    expect(last!.drifts.map((d) => `${d.kind} ${d.object}: ${d.detail}`).join('\n')).toBe('');
    expect(last!.counts.vips).toBe(5 + extra.length);
  });
});
