// Operating the running system, as processes: the function replica and the relay serve /metrics,
// /livez and /readyz on their HEALTH_PORT; creating 10 Vips through the API server moves their
// counters and kube-ovn's subnet gauges, deleting them brings the gauges back; a conflicting Vip
// shows its Warning in `kubectl describe vip`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { type Sample, scrape, sum } from '../observe/scrape.ts';
import { type E2E, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;

beforeAll(async () => {
  e = await startE2E();
}, 120_000);

afterAll(async () => {
  await e?.stop();
});

const subnet = { subnet_name: 'ovn-default', protocol: 'IPv4' };
const fnMetrics = () => scrape(`${e.stack.functions[0]!.healthUrl}/metrics`);
const relayMetrics = () => scrape(`${e.stack.relayHealthUrl}/metrics`);

describe('operating the running processes', () => {
  it('answers /livez and /readyz on every process, /readyz naming each dependency', async () => {
    for (const base of [e.stack.functions[0]!.healthUrl, e.stack.relayHealthUrl]) {
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
    const fn = await fetch(`${e.stack.functions[0]!.healthUrl}/readyz`);
    expect(fn.status).toBe(200);
    expect(await fn.text()).toMatch(/redis: ok\nnb: ok\napiserver: ok/);
    const relay = await waitFor('the relay ready', async () => {
      const r = await fetch(`${e.stack.relayHealthUrl}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    expect(await relay.text()).toMatch(/lists: ok\napiserver: ok/);
    // The functions' own port answers too (Knative probes the port it routes to).
    expect((await fetch(`${e.stack.functions[0]!.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${e.stack.functions[0]!.url}/livez`)).status).toBe(200);
  });

  it('moves the metrics with the work: 10 Vips created, then deleted', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `op-${i}`);
    const before = await fnMetrics();
    const relayBefore = await relayMetrics();
    for (const name of names) await e.apply(vipObject(name, { subnet: 'ovn-default' }));
    for (const name of names) await e.waitVip(name, (v) => readyCondition(v)?.status === 'True');
    const after = await waitFor('10 reservations counted', async () => {
      const s = await fnMetrics();
      return sum(s, 'vip_reservations_created_total') - sum(before, 'vip_reservations_created_total') === 10
        ? s
        : undefined;
    });
    const d = (s: Sample[], b: Sample[], name: string, labels: Record<string, string> = {}) =>
      sum(s, name, labels) - sum(b, name, labels);
    expect(d(after, before, 'subnet_used_ip_count', subnet)).toBe(10);
    expect(d(after, before, 'subnet_available_ip_count', subnet)).toBe(-10);
    expect(d(after, before, 'vip_reconcile_total', { kind: 'Vip', outcome: 'done' })).toBeGreaterThanOrEqual(
      10,
    );
    expect(sum(after, 'vip_ready')).toBe(1);
    expect(sum(after, 'vip_dependency_up')).toBe(3);
    const relayAfter = await relayMetrics();
    expect(d(relayAfter, relayBefore, 'vip_relay_events_delivered_total')).toBeGreaterThanOrEqual(10);
    expect(sum(relayAfter, 'vip_ready')).toBe(1);

    for (const name of names) await e.kube.delete('Vip', { name });
    for (const name of names) await e.waitGone('Vip', name);
    const gone = await waitFor('10 releases counted', async () => {
      const s = await fnMetrics();
      return sum(s, 'vip_reservations_released_total') - sum(before, 'vip_reservations_released_total') === 10
        ? s
        : undefined;
    });
    expect(d(gone, before, 'subnet_used_ip_count', subnet)).toBe(0);
    expect(d(gone, before, 'subnet_available_ip_count', subnet)).toBe(0);
  }, 60_000);

  it('shows a conflicting Vip its Warning, naming the holder, in kubectl describe', async () => {
    await e.apply(vipObject('op-holder', { subnet: 'ovn-default', v4ip: '10.16.0.200' }));
    await e.waitVip('op-holder', (v) => readyCondition(v)?.status === 'True');
    await e.apply(vipObject('op-conflict', { subnet: 'ovn-default', v4ip: '10.16.0.200' }));
    await e.waitVip('op-conflict', (v) => readyCondition(v)?.reason === 'AddressConflict');
    const out = await waitFor('the Event in kubectl describe', async () => {
      const text = await e.kubectl('describe', 'vip', 'op-conflict');
      return /Warning\s+AcquireAddressFailed/.test(text) ? text : undefined;
    });
    expect(out).toMatch(/AddressConflict: 10\.16\.0\.200 is already held by vip\/op-holder/);
    console.log(`kubectl describe vip op-conflict:\n${out}`);
  }, 60_000);
});
