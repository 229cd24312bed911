// Issue 12 item 7: this system beside kube-ovn-controller (BESIDE_KUBE_OVN=true). A simulation of
// kube-ovn-controller written from its code (kube-ovn-sim.ts) allocates pod addresses and also
// acts on every Vip, as the real one does, while the functions serve the same Vips: pods, dynamic
// Vips and fixed Vips inside our range are created at once (a fixed Vip in kube-ovn's part is
// refused at admission), and some Vips are deleted. At the end no address is held by two holders
// in any record of either side (pod annotations, IP objects, logical switch ports, Vip status,
// Redis, kube-ovn's IPAM), every Vip is Ready on an address of our range, and each Vip's address
// is the same in Redis and in its status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { inRanges, parseRanges, VIP_RANGE_ANNOTATION } from '../../shared/domain/beside-kube-ovn.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { type E2E, podObject, readyCondition, startE2E, vipObject } from './harness.ts';
import { IP_CRD, type KubeOvnSim, startKubeOvnSim } from './kube-ovn-sim.ts';

const EXCLUDED = '10.16.200.0..10.16.200.255';
const RANGE = '10.16.200.1..10.16.200.254';
const vipRange = parseRanges([RANGE]).ranges;
const PODS = 30;
const DYNAMIC = 30;

let e: E2E;
let sim: KubeOvnSim | undefined;

beforeAll(async () => {
  // With the admission webhook (as the manifests run it): it refuses kube-ovn-controller's own
  // address writes into our Vips.
  e = await startE2E({ functionEnv: { BESIDE_KUBE_OVN: 'true' }, admission: true });
  await e.kubectlApply(IP_CRD);
  await waitFor(
    'the IP kind served',
    async () => (await e.kubectl('api-resources', '--api-group=kubeovn.io')).includes('ips'),
    {
      timeoutMs: 15_000,
      intervalMs: 200,
    },
  );
  // The operator's part: kube-ovn keeps the range out of its IPAM, the annotation hands it to us.
  await e.kubectl(
    'patch',
    'subnet',
    'ovn-default',
    '--type=merge',
    '-p',
    JSON.stringify({
      metadata: { annotations: { [VIP_RANGE_ANNOTATION]: RANGE } },
      spec: { excludeIps: [EXCLUDED] },
    }),
  );
  // Our allocator took the narrowed view (everything outside the range excluded).
  await waitFor(
    'the allocator to hold only the Vip range',
    async () =>
      (await e.allocator.getSubnet('ovn-default', { fresh: true }))?.excludeIps.includes(
        '10.16.0.1..10.16.200.0',
      ),
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}, 90_000);

afterAll(async () => {
  await sim?.stop().catch(() => {});
  await e?.stop();
});

const ready = (v: Vip) => readyCondition(v)?.status === 'True' && Boolean(v.status?.v4ip);

describe('beside kube-ovn-controller', () => {
  it('pods and Vips allocated by both sides at once: no address ever held twice', async () => {
    sim = await startKubeOvnSim({
      kubeconfig: e.stack.kubeconfig,
      nbRemote: e.stack.nbRemote,
      subnet: {
        name: 'ovn-default',
        cidrBlock: '10.16.0.0/16',
        gateway: '10.16.0.1',
        excludeIps: [EXCLUDED],
      },
    });
    const names = {
      dynamic: Array.from({ length: DYNAMIC }, (_, i) => `bk-dyn-${i}`),
      // Inside our range: ours to decide (kube-ovn also acquires it statically; same holder).
      fixedOurs: ['bk-fix-a', 'bk-fix-b'],
    };
    await Promise.all([
      (async () => {
        for (let i = 0; i < PODS; i++) await e.apply(podObject('default', `bk-pod-${i}`));
      })(),
      (async () => {
        for (const n of names.dynamic) await e.apply(vipObject(n, { subnet: 'ovn-default' }));
      })(),
      e.apply(vipObject('bk-fix-a', { subnet: 'ovn-default', v4ip: '10.16.200.50' })),
      e.apply(vipObject('bk-fix-b', { subnet: 'ovn-default', v4ip: '10.16.200.51' })),
    ]);
    // A fixed address in kube-ovn's part is kube-ovn's business: refused here at admission.
    await expect(
      e.apply(vipObject('bk-theirs', { subnet: 'ovn-default', v4ip: '10.16.0.240' })),
    ).rejects.toThrow(/outside this system's Vip range/);
    const all = [...names.dynamic, ...names.fixedOurs];
    const vips = await waitFor(
      `${all.length} Vips Ready`,
      async () => {
        const list = (await e.kube.listVips()).filter((v) => all.includes(v.metadata.name));
        return list.length === all.length && list.every(ready) ? list : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor(
      `${PODS} pods allocated by kube-ovn`,
      async () =>
        (await e.kube.listPods({ namespace: 'default' })).filter(
          (p) => p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true',
        ).length >= PODS,
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // Delete a few of each kind while kube-ovn's finalizer may be on them.
    const deleted = [names.dynamic[0]!, names.dynamic[1]!, names.fixedOurs[0]!];
    for (const n of deleted) await e.kubectl('delete', 'vip', n, '--wait=false');
    for (const n of deleted) await e.waitGone('Vip', n);
    const live = vips.filter((v) => !deleted.includes(v.metadata.name));

    await checkNoAddressHeldTwice(sim);
    const finalVips = (await e.kube.listVips()).filter((v) => all.includes(v.metadata.name));
    expect(finalVips.map((v) => v.metadata.name).sort()).toEqual(live.map((v) => v.metadata.name).sort());
    for (const v of finalVips) {
      expect(ready(v), v.metadata.name).toBe(true);
      // Our record agrees with what the Vip shows.
      expect(await e.allocator.get('ovn-default', `vip/${v.metadata.name}`), v.metadata.name).toMatchObject({
        v4: v.status!.v4ip,
      });
    }
    // Fixed addresses are honoured on either side of the split.
    const byName = new Map(finalVips.map((v) => [v.metadata.name, v]));
    expect(byName.get('bk-fix-b')!.status!.v4ip).toBe('10.16.200.51');
    // Every Vip address is of our range; kube-ovn's own choices never reached a Vip.
    expect(finalVips.filter((v) => !inRanges(v.status!.v4ip!, vipRange)).map((v) => v.metadata.name)).toEqual(
      [],
    );
    // Deleted Vips' addresses are free again on our side.
    for (const n of deleted) expect(await e.allocator.get('ovn-default', `vip/${n}`)).toBeUndefined();
    expect(await e.allocator.audit('ovn-default')).toEqual([]);

    const leaked = sim.leakedVipGrants(
      finalVips.map((v) => ({ name: v.metadata.name, v4ip: v.status!.v4ip })),
    );
    console.log(
      `kube-ovn sim: ${JSON.stringify(sim.stats())}; Vips whose kube-ovn grant lost (held in its IPAM until the Vip goes): ${leaked}/${finalVips.length}`,
    );
  }, 150_000);
});

/** Every record of either side, as address -> holders; each address must have exactly one holder. */
async function checkNoAddressHeldTwice(s: KubeOvnSim): Promise<void> {
  const holders = new Map<string, Set<string>>();
  const hold = (ip: string | undefined, holder: string, source: string) => {
    if (!ip) return;
    const set = holders.get(ip) ?? new Set<string>();
    set.add(holder);
    holders.set(ip, set);
    sources.push(`${source} ${ip} ${holder}`);
  };
  const sources: string[] = [];
  for (const p of await e.kube.listPods({ namespace: 'default' })) {
    const a = p.metadata.annotations ?? {};
    if (a['ovn.kubernetes.io/allocated'] === 'true')
      hold(a['ovn.kubernetes.io/ip_address'], `pod:default/${p.metadata.name}`, 'pod-annotation');
  }
  for (const ip of JSON.parse(await e.kubectl('get', 'ips.kubeovn.io', '-o', 'json')).items as {
    spec: { v4IpAddress: string; namespace: string; podName: string };
  }[])
    hold(ip.spec.v4IpAddress, `pod:${ip.spec.namespace}/${ip.spec.podName}`, 'ip-object');
  for (const v of await e.kube.listVips()) hold(v.status?.v4ip, `vip:${v.metadata.name}`, 'vip-status');
  for (const r of (await e.allocator.list('ovn-default', { limit: 1000 })).items)
    hold(r.v4, r.owner.startsWith('vip/') ? `vip:${r.owner.slice(4)}` : r.owner, 'redis');
  for (const [ip, key] of s.ipam.ipToPod)
    hold(ip, key.includes('/') ? `pod:${key}` : `vip:${key}`, 'kube-ovn-ipam');
  const lsps = await e.nbctl(
    '--format=csv',
    '--data=bare',
    '--no-headings',
    '--columns=name,addresses',
    'list',
    'logical_switch_port',
  );
  for (const line of lsps.trim().split('\n').filter(Boolean)) {
    const [name, addresses] = line.split(',');
    const ip = addresses?.trim().split(/\s+/)[1];
    const m = /^(.+)\.(default)$/.exec(name ?? '');
    if (m) hold(ip, `pod:${m[2]}/${m[1]}`, 'lsp');
  }
  const twice = [...holders].filter(([, h]) => h.size > 1).map(([ip, h]) => `${ip}: ${[...h].join(' + ')}`);
  expect(
    twice,
    sources.filter((l) => twice.some((t) => l.includes(` ${t.split(':')[0]} `))).join('\n'),
  ).toEqual([]);
  // Pods never got an address of our range; every address kube-ovn gave a pod is outside it.
  const podAddresses = [...holders]
    .filter(([, h]) => [...h].some((x) => x.startsWith('pod:')))
    .map(([ip]) => ip);
  expect(podAddresses.length).toBeGreaterThanOrEqual(PODS);
  expect(podAddresses.filter((ip) => inRanges(ip, vipRange))).toEqual([]);
}
