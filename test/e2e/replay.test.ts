// At-least-once delivery, proven: a scenario runs through a relay that records every event it
// delivers; the recorded stream is then sent again, shuffled and every event twice, straight to
// the functions. Redis, the NB rows and every status must end exactly as after the in-order run,
// because the handlers are level-triggered and every write is idempotent.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../infra/relay/cache.ts';
import { startRelay } from '../../infra/relay/relay.ts';
import { createHttpSink } from '../../infra/relay/sink.ts';
import { encodeResourceEvent } from '../../shared/events/encode.ts';
import { signBody } from '../../shared/events/signature.ts';
import { type E2E, podObject, startE2E, switchLbRuleObject, vipObject } from './harness.ts';

let e: E2E;
const recorded: ChangeEvent[] = [];
let relay: ReturnType<typeof startRelay>;

beforeAll(async () => {
  e = await startE2E({ relay: false });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(e.stack.kubeconfig);
  const sink = createHttpSink({
    urls: [`${e.stack.functions[0]!.url}/events`],
    source: e.stack.apiServer.url,
    secret: e.stack.relaySecret,
  });
  relay = startRelay({
    kubeConfig,
    sinks: [`${e.stack.functions[0]!.url}/events`],
    secret: e.stack.relaySecret,
    resyncMs: 0,
    send: async (event, signal) => {
      const result = await sink(event, signal);
      if (result.outcome === 'done') recorded.push(structuredClone(event));
      return result;
    },
  });
  await relay.synced;
});
afterAll(async () => {
  await relay?.stop({ deadlineMs: 2_000 });
  await e?.stop();
});

/** Everything the system decided, without timestamps and generated ids. */
async function snapshot() {
  const vips = (await e.kube.listVips()).map((v) => ({
    name: v.metadata.name,
    labels: v.metadata.labels,
    finalizers: v.metadata.finalizers,
    status: {
      ...v.status,
      conditions: v.status?.conditions?.map(({ lastTransitionTime: _, ...c }) => c),
    },
  }));
  const pods = (await e.kube.listPods({})).map((p) => ({
    name: `${p.metadata.namespace}/${p.metadata.name}`,
    annotations: p.metadata.annotations,
  }));
  const reservations = [];
  for (const subnet of ['ovn-default'])
    reservations.push(...(await e.allocator.list(subnet, { limit: 1000 })).items);
  const ports = await e.nbctl(
    '--format=csv',
    '--columns=name,type,addresses,options,external_ids,port_security',
    'list',
    'logical_switch_port',
  );
  const lbs = await e.nbctl(
    '--format=csv',
    '--columns=name,vips,protocol,options,external_ids',
    'list',
    'load_balancer',
  );
  const sortCsv = (s: string) => s.trim().split('\n').sort().join('\n');
  const subnet = (await e.kube.getSubnet('ovn-default'))?.status as Record<string, unknown>;
  const { conditions: _c, ...counts } = subnet ?? {};
  return {
    vips,
    pods,
    reservations,
    ports: sortCsv(ports),
    lbs: sortCsv(lbs),
    counts,
    audit: await e.allocator.audit('ovn-default'),
  };
}

async function quiet(check: () => Promise<boolean>) {
  await expect.poll(check, { timeout: 20_000, interval: 100 }).toBe(true);
  // and stays so for a moment (no event still in flight changes it)
  await new Promise((r) => setTimeout(r, 500));
}

describe('replaying the event stream', () => {
  it('shuffled and duplicated, ends in the same state as the in-order run', async () => {
    // The scenario: reservations, AAP with parents, a pod bound to a Vip, a switch LB rule,
    // relabels and deletions, so the stream holds adds, updates and deletes of every kind.
    const asks = { 'ovn.kubernetes.io/aaps': 'aap' };
    await e.apply(vipObject('dyn', { subnet: 'ovn-default' }));
    await e.apply(vipObject('fixed', { subnet: 'ovn-default', v4ip: '10.16.0.77' }));
    await e.apply(vipObject('aap', { subnet: 'ovn-default', namespace: 'default', selector: ['app: a'] }));
    await e.apply(vipObject('bindme', { subnet: 'ovn-default' }));
    await e.apply(vipObject('lbvip', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    await e.apply(vipObject('doomed', { subnet: 'ovn-default' }));
    await e.waitVip('bindme', (v) => v.status?.ready === true);
    const lbvip = await e.waitVip('lbvip', (v) => v.status?.ready === true);
    for (const n of ['p1', 'p2', 'p3'])
      await e.apply(podObject('default', n, { labels: { app: 'a' }, annotations: asks }));
    await e.apply(podObject('default', 'bound', { annotations: { 'ovn.kubernetes.io/vip': 'bindme' } }));
    await e.apply(
      switchLbRuleObject('rule', {
        vip: lbvip.status!.v4ip,
        namespace: 'default',
        selector: ['app: a'],
        ports: [{ name: 'h', port: 80, targetPort: 8080 }],
      }),
    );
    await e.kube.patchMetadata('Pod', { namespace: 'default', name: 'p2' }, { labels: { app: 'b' } });
    await e.kube.delete('Pod', { namespace: 'default', name: 'p3' });
    await e.kube.delete('Vip', { name: 'doomed' });
    await quiet(async () => {
      const aap = await e.portOptions('aap');
      const lb = await e.nbctl('--bare', '--columns=vips', 'find', 'load_balancer', 'name=slr-rule-tcp');
      const bound = await e.pod('default', 'bound');
      return (
        aap?.['virtual-parents'] === 'p1.default' &&
        lb.trim().split(',').length === 1 &&
        lb.includes(':8080') &&
        !!bound?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] &&
        !(await e.vip('doomed')) &&
        (await e.kube.getSubnet('ovn-default'))?.status?.v4usingIPs ===
          (await e.allocator.counts('ovn-default')).v4UsingIPs
      );
    });
    const inOrder = await snapshot();
    expect(inOrder.audit).toEqual([]);
    // An add of each of the 12 objects made (6 Vips, 5 pods, 1 rule); the handlers' own writes
    // echoing back are dropped by the relay, so the stream is not much longer than that.
    const added = new Set(recorded.filter((r) => r.action === 'add').map((r) => r.key));
    expect(added.size).toBeGreaterThanOrEqual(12);
    expect(new Set(recorded.map((r) => r.action))).toEqual(new Set(['add', 'update', 'delete']));

    // Replay: each recorded event twice, in a random order, eight at a time.
    await relay.stop({ deadlineMs: 2_000 });
    const stream = [...recorded, ...recorded]
      .map((ev) => ({ ev, k: Math.random() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.ev);
    const url = `${e.stack.functions[0]!.url}/events`;
    const send = async (ev: ChangeEvent) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const msg = encodeResourceEvent(ev.object, { action: ev.action, source: e.stack.apiServer.url });
        const headers = { ...msg.headers, ...(await signBody(e.stack.relaySecret, msg.body)) };
        const res = await fetch(url, { method: 'POST', headers, body: msg.body });
        await res.text();
        if (res.status < 500 && res.status !== 429) return res.status;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the functions kept answering retry');
    };
    const statuses: number[] = [];
    for (let i = 0; i < stream.length; i += 8) {
      statuses.push(...(await Promise.all(stream.slice(i, i + 8).map(send))));
    }
    expect(statuses.every((s) => s === 200 || s === 422)).toBe(true);
    await new Promise((r) => setTimeout(r, 600)); // the coalesced subnet status write
    const replayed = await snapshot();
    expect(replayed).toEqual(inOrder);
  });
});
