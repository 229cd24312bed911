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
