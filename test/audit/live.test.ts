// The audit on a system driven the real way (kubectl -> API server -> relay -> function replicas):
// once the seed has settled, the audit finds nothing (no false drift from how the handlers build
// things), and drift injected into a live system is reported by every round of a settled audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { type OpenAuditPorts, openAuditPorts } from '../../infra/wiring/audit.ts';
import { type AuditResult, auditSystem, auditSystemSettled, DriftKind } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { type E2E, startE2E } from '../e2e/harness.ts';

let e: E2E;
let ports: OpenAuditPorts;

beforeAll(async () => {
  e = await startE2E();
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

describe('audit of a system driven through the relay', () => {
  it('the seed, once settled, audits clean', async () => {
    await e.kubectl('apply', '-f', 'examples/');
    for (const name of ['vip-dynamic-01', 'static-vip01', 'vip-aap', 'slr-01', 'pod-use-vip'])
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
    expect(last!.counts.vips).toBe(5);
    expect(last!.counts.pods).toBeGreaterThanOrEqual(2);
  });

  it('a settled audit reports lasting drift on the live system', async () => {
    await e.allocator.allocate({ subnet: 'ovn-default', owner: 'vip/ghost' });
    const r = await auditSystemSettled(ports, { rounds: 3, delayMs: 100 });
    // Written behind the system's back: the Subnet's counts miss it too.
    expect(r.drifts.map((d) => `${d.kind} ${d.object}`).sort()).toEqual([
      `${DriftKind.LeakedReservation} Reservation/ovn-default/vip/ghost`,
      `${DriftKind.StaleSubnetCounts} Subnet/ovn-default`,
    ]);
  });
});
