// Objects as kube-ovn master writes them (its CRD fields attachSubnets and endpoints, ports
// without a name) and the seed's examples both apply unchanged through kubectl against the
// development API server, which prunes unknown fields like a real one: nothing of them is lost,
// status.type is filled, and `kubectl get vip -o wide` shows NAMESPACE and TYPE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, startE2E } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

const getJson = async (kind: string, name: string) =>
  JSON.parse(await e.kubectl('get', kind, name, '-o', 'json'));

describe('kube-ovn master objects and the seed examples', () => {
  it('keeps attachSubnets and endpoints, fills status.type and prints NAMESPACE and TYPE', async () => {
    // kube-ovn master: a switch_lb_vip with a namespace and attachSubnets.
    await e.kubectlApply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'master-lb' },
      spec: { subnet: 'ovn-default', type: 'switch_lb_vip', namespace: 'default', attachSubnets: [] },
    });
    await e.kubectlApply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'master-aap' },
      spec: { subnet: 'ovn-default', namespace: 'default', attachSubnets: ['ovn-default'] },
    });
    const lb = await e.waitVip('master-lb', (v) => v.status?.ready === true);
    await e.waitVip('master-aap', (v) => v.status?.ready === true);
    expect((await getJson('vip', 'master-aap')).spec.attachSubnets).toEqual(['ovn-default']);
    expect(lb.status?.type).toBe('switch_lb_vip');

    // kube-ovn master: a SwitchLBRule with static endpoints and a port without a name.
    await e.kubectlApply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'SwitchLBRule',
      metadata: { name: 'master-ep' },
      spec: {
        vip: lb.status!.v4ip!,
        namespace: 'default',
        sessionAffinity: 'None',
        endpoints: ['10.16.0.201', '10.16.0.202'],
        ports: [{ port: 8080, targetPort: 80, protocol: 'TCP' }],
      },
    });
    const slr = await getJson('slr', 'master-ep');
    expect(slr.spec.endpoints).toEqual(['10.16.0.201', '10.16.0.202']);
    expect(slr.spec.ports).toEqual([{ port: 8080, targetPort: 80, protocol: 'TCP' }]);
    // The static endpoints are the back ends, and the status columns read as kube-ovn's.
    await expect
      .poll(
        async () =>
          (
            await e.nbctl('--bare', '--columns=vips', 'find', 'load_balancer', 'name=slr-master-ep-tcp')
          ).trim(),
        { timeout: 15_000 },
      )
      .toBe(`${lb.status!.v4ip}:8080=10.16.0.201:80,10.16.0.202:80`);
    await expect
      .poll(async () => (await getJson('slr', 'master-ep')).status ?? {}, { timeout: 15_000 })
      .toMatchObject({ ports: '8080/TCP', service: 'default/slr-master-ep', backends: 2 });

    // The seed's own examples apply as they are.
    for (const f of ['vip-dynamic-01.yaml', 'static-vip01.yaml', 'slr-01.yaml']) await e.applyExample(f);
    await e.waitVip('static-vip01', (v) => v.status?.ready === true);
    const plain = await e.waitVip('vip-dynamic-01', (v) => v.status?.ready === true);
    expect(plain.status?.type).toBe('');

    const wide = (await e.kubectl('get', 'vip', '-o', 'wide')).split('\n');
    const header = wide[0]!.trim().split(/\s+/);
    expect(header).toEqual([
      'NAME',
      'V4IP',
      'PV4IP',
      'MAC',
      'PMAC',
      'V6IP',
      'PV6IP',
      'SUBNET',
      'READY',
      'PARENTS',
      'HOLDER',
      'NAMESPACE',
      'TYPE',
    ]);
    const row = wide
      .find((l) => l.startsWith('master-lb '))!
      .trim()
      .split(/\s+/);
    expect(row.slice(-2)).toEqual(['default', 'switch_lb_vip']);
    // The seed's columns without -o wide stay as they were.
    const narrow = (await e.kubectl('get', 'vip')).split('\n')[0]!.trim().split(/\s+/);
    expect(narrow).toEqual(['NAME', 'V4IP', 'PV4IP', 'MAC', 'PMAC', 'V6IP', 'PV6IP', 'SUBNET', 'READY']);
  });
});
