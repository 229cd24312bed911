// switch_lb_vip and SwitchLBRule through the relay: the Vip reserves the front-end address, and
// the rule's OVN load balancer sits on the subnet's switch with the selected pods as back ends,
// following them as they come and go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, podObject, startE2E, switchLbRuleObject, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

const lbVips = async (name: string) => {
  const out = (await e.nbctl('--bare', '--columns=vips', 'find', 'load_balancer', `name=${name}`)).trim();
  return out;
};
const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? '';

describe('switch_lb_vip and SwitchLBRule', () => {
  it('reserves the front end and keeps the load balancer on the switch current', async () => {
    await e.apply(vipObject('slr-01', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    const vip = await e.waitVip('slr-01', (v) => v.status?.ready === true);
    expect(vip.status?.type).toBe('switch_lb_vip');
    // A switch_lb_vip is a reservation only: no virtual port.
    expect(await e.portOptions('slr-01')).toBeUndefined();
    const front = vip.status!.v4ip!;

    const app = { labels: { app: 'web' } };
    await e.apply(podObject('default', 'web-a', app));
    await e.apply(podObject('default', 'web-b', app));
    await e.apply(podObject('default', 'other', { labels: { app: 'db' } }));
    const a = ipOf(await e.waitPod('default', 'web-a', (p) => !!ipOf(p)));
    const b = ipOf(await e.waitPod('default', 'web-b', (p) => !!ipOf(p)));

    await e.apply(
      switchLbRuleObject('web', {
        vip: front,
        namespace: 'default',
        selector: ['app: web'],
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      }),
    );
    const sorted = [a, b].sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3]));
    await expect
      .poll(() => lbVips('slr-web-tcp'), { timeout: 15_000 })
      .toBe(`${front}:80=${sorted.map((x) => `${x}:8080`).join(',')}`);
    const lbUuid = (
      await e.nbctl('--bare', '--columns=_uuid', 'find', 'load_balancer', 'name=slr-web-tcp')
    ).trim();
    expect(
      await e.nbctl('--bare', '--columns=load_balancer', 'list', 'logical_switch', 'ovn-default'),
    ).toContain(lbUuid);
    expect(
      await e.nbctl('--bare', '--columns=options', 'find', 'load_balancer', 'name=slr-web-tcp'),
    ).toContain('affinity_timeout=10800');

    // a back end goes away
    await e.kube.delete('Pod', { namespace: 'default', name: 'web-a' });
    await expect.poll(() => lbVips('slr-web-tcp'), { timeout: 15_000 }).toBe(`${front}:80=${b}:8080`);
    // a new one joins through a relabel
    await e.kube.patchMetadata('Pod', { namespace: 'default', name: 'other' }, { labels: { app: 'web' } });
    const c = ipOf(await e.pod('default', 'other'));
    const both = [b, c].sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3]));
    await expect
      .poll(() => lbVips('slr-web-tcp'), { timeout: 15_000 })
      .toBe(`${front}:80=${both.map((x) => `${x}:8080`).join(',')}`);

    // deleting the rule removes the balancer from NB and from the switch
    await e.kube.delete('SwitchLBRule', { name: 'web' });
    await expect.poll(() => lbVips('slr-web-tcp'), { timeout: 15_000 }).toBe('');
    expect(
      (await e.nbctl('--bare', '--columns=load_balancer', 'list', 'logical_switch', 'ovn-default')).trim(),
    ).toBe('');
  });

  it('probes the back ends by default (kube-ovn health checks) and not with its annotation set to "false"', async () => {
    await e.apply(vipObject('slr-hc', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    const front = (await e.waitVip('slr-hc', (v) => v.status?.ready === true)).status!.v4ip!;
    await e.apply(podObject('default', 'hc-a', { labels: { app: 'hc' } }));
    const a = ipOf(await e.waitPod('default', 'hc-a', (p) => !!ipOf(p)));
    const rule = switchLbRuleObject('hc', {
      vip: front,
      namespace: 'default',
      selector: ['app: hc'],
      ports: [{ port: 80, targetPort: 8080 }],
    });
    await e.apply(rule);
    const column = async (col: string) =>
      (await e.nbctl('--bare', `--columns=${col}`, 'find', 'load_balancer', 'name=slr-hc-tcp')).trim();
    // The probe source: one address of the subnet held for its checks.
    await expect
      .poll(() => column('ip_port_mappings'), { timeout: 15_000 })
      .toMatch(/^\S+=hc-a\.default:\S+$/);
    const source = (await column('ip_port_mappings')).split(':').at(-1)!;
    expect((await e.allocator.get('ovn-default', 'hc/ovn-default'))?.v4).toBe(source);
    expect(await column('ip_port_mappings')).toBe(`${a}=hc-a.default:${source}`);
    const check = await e.nbctl(
      '--bare',
      '--columns=vip,options,external_ids',
      'list',
      'load_balancer_health_check',
      await column('health_check'),
    );
    expect(
      check
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ).toEqual([
      `${front}:80`,
      'failure_count=3 interval=5 success_count=3 timeout=20',
      'switch_lb_subnet=ovn-default',
    ]);

    await e.kube.patchMetadata(
      'SwitchLBRule',
      { name: 'hc' },
      {
        annotations: { 'ovn.kubernetes.io/service_health_check': 'false' },
      },
    );
    await expect.poll(() => column('health_check'), { timeout: 15_000 }).toBe('');
    expect(await column('ip_port_mappings')).toBe('');
    expect((await e.nbctl('--bare', '--columns=_uuid', 'list', 'load_balancer_health_check')).trim()).toBe(
      '',
    );
    await e.kube.delete('SwitchLBRule', { name: 'hc' });
  });

  it('refuses a rule whose vip is not a reserved switch_lb_vip address, with a reason', async () => {
    await e.apply(
      switchLbRuleObject('stray', {
        vip: '10.16.200.200',
        namespace: 'default',
        selector: ['app: web'],
        ports: [{ name: 'http', port: 80, targetPort: 80 }],
      }),
    );
    await expect
      .poll(
        async () => {
          const r = (await e.kube.getSwitchLBRule('stray')) as {
            status?: { conditions?: { status: string }[] };
          };
          return r?.status?.conditions?.[0]?.status;
        },
        { timeout: 15_000 },
      )
      .toBe('False');
    expect(await lbVips('slr-stray-tcp')).toBe('');
  });
});
