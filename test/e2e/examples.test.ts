// Issue 21 item 2: every example under examples/<use>/ applied with kubectl as an operator would
// (`kubectl apply -f examples/<use>/`), and the outcome each one's comments promise checked
// through the API server and OVN. The seed's own examples (examples/*.yaml) are applied by the
// seed test (test/e2e/seed.test.ts), which expects `kubectl apply -f examples/` to be exactly them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { podOwner } from '../../shared/domain/ownership.ts';
import type { Condition, Pod } from '../../shared/domain/types.ts';
import { type E2E, podObject, readyCondition, startE2E } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

const ipOf = (p: Pod | undefined) => p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'];
/** A cell of kubectl's one-row table, cut at the header's column offsets (cells may be empty). */
function column(table: string, name: string): string {
  const [header = '', row = ''] = table.split('\n');
  const start = header.search(new RegExp(`(^|\\s)${name}(\\s|$)`)) + (header.startsWith(name) ? 0 : 1);
  const next = header.slice(start + name.length).search(/\S/);
  return row.slice(start, next < 0 ? undefined : start + name.length + next).trim();
}
const applyDir = (dir: string) => e.kubectl('apply', '-f', `${ROOT}/examples/${dir}/`);

describe('examples/<use>/', () => {
  it('every subfolder is covered here, and the top level stays the seed', () => {
    const dirs = readdirSync(join(ROOT, 'examples')).filter((f) =>
      statSync(join(ROOT, 'examples', f)).isDirectory(),
    );
    expect(dirs.sort()).toEqual([
      'dual-stack',
      'fixed-ip-pod',
      'keepalived',
      'statefulset',
      'switch-lb-rule',
    ]);
  });

  it('keepalived: both pods (label and annotation) become the Vip parents', async () => {
    await applyDir('keepalived');
    const vip = await e.waitVip(
      'keepalived-vip',
      (v) => v.status?.ready === true && (v.status.pv4ip ?? '').split(',').length === 2,
      'two parents',
    );
    const pods = await Promise.all(
      ['keepalived-a', 'keepalived-b'].map((n) => e.waitPod('default', n, (p) => !!ipOf(p))),
    );
    expect(vip.status!.pv4ip!.split(',').sort()).toEqual(pods.map((p) => ipOf(p)!).sort());
    const parents = await e.nbctl('get', 'logical_switch_port', 'keepalived-vip', 'options:virtual-parents');
    expect(parents.trim().replace(/"/g, '')).toBe('keepalived-a.default,keepalived-b.default');
    // Issue 21 item 5: the parents by name, next to the addresses, in -o wide.
    const table = await e.kubectl('get', 'vip', 'keepalived-vip', '-o', 'wide');
    expect(vip.status?.parents).toBe('keepalived-a,keepalived-b');
    expect(column(table, 'PARENTS')).toBe('keepalived-a,keepalived-b');
    expect(column(table, 'PV4IP')).toBe(vip.status!.pv4ip);
  });

  it('switch-lb-rule: the front end is reserved and slr-web-tcp balances to both back ends', async () => {
    await applyDir('switch-lb-rule');
    await e.waitVip('web-front', (v) => v.status?.ready === true && v.status.v4ip === '10.16.0.130');
    const backends = await Promise.all(
      ['web-backend-1', 'web-backend-2'].map((n) => e.waitPod('default', n, (p) => !!ipOf(p))),
    );
    const want = backends
      .map((p) => ipOf(p)!)
      .sort((x, y) => Number(x.split('.')[3]) - Number(y.split('.')[3]))
      .map((ip) => `${ip}:8080`)
      .join(',');
    await expect
      .poll(
        async () =>
          (await e.nbctl('--bare', '--columns=vips', 'find', 'load_balancer', 'name=slr-web-tcp')).trim(),
        {
          timeout: 15_000,
        },
      )
      .toBe(`10.16.0.130:80=${want}`);
  });

  it('switch-lb-rule: a rule naming a Vip instead of its address is refused (InvalidAddress)', async () => {
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'SwitchLBRule',
      metadata: { name: 'by-name' },
      spec: {
        vip: 'web-front',
        namespace: 'default',
        selector: ['app: web-backend'],
        ports: [{ name: 'http', port: 81, targetPort: 8080, protocol: 'TCP' }],
      },
    });
    const cond = await waitFor(
      'by-name refused',
      async () => {
        const r = await e.kube.getSwitchLBRule('by-name');
        const status = (r as { status?: { conditions?: Condition[] } } | undefined)?.status;
        const c = status?.conditions?.find((x) => x.type === 'Ready');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(cond.reason).toBe('InvalidAddress');
  });

  it('dual-stack: the Vip gets one address of each family', async () => {
    await applyDir('dual-stack');
    const vip = await e.waitVip('dual-vip', (v) => v.status?.ready === true);
    expect(vip.status?.v4ip).toMatch(/^10\.20\.0\./);
    expect(vip.status?.v6ip).toMatch(/^fd00:10:20::/);
  });

  it('fixed-ip-pod: the pod gets the annotated address', async () => {
    await applyDir('fixed-ip-pod');
    // The example itself carries ip_address: wait for the handler's `allocated`, not for that.
    const pod = await e.waitPod(
      'default',
      'fixed-ip',
      (p) => p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true',
    );
    expect(ipOf(pod)).toBe('10.16.0.140');
    expect(await e.allocator.get('ovn-default', podOwner('fixed-ip.default'))).toMatchObject({
      v4: '10.16.0.140',
    });
  });

  it('statefulset: db-0 takes the Vip address and keeps it when it is re-created', async () => {
    await applyDir('statefulset');
    await e.waitVip('db-vip', (v) => v.status?.ready === true && v.status.v4ip === '10.16.0.150');
    // The local stack has no StatefulSet controller: create db-0 as it would, from the template.
    const sts = await e.kube.getStatefulSet('default', 'db');
    const template = (
      sts as unknown as {
        spec: {
          template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
        };
      }
    ).spec.template;
    const makePod = () =>
      e.apply(
        podObject('default', 'db-0', {
          labels: template.metadata.labels,
          annotations: template.metadata.annotations,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'StatefulSet',
              name: 'db',
              uid: sts!.metadata.uid,
              controller: true,
            },
          ],
        }),
      );
    await makePod();
    expect(ipOf(await e.waitPod('default', 'db-0', (p) => !!ipOf(p)))).toBe('10.16.0.150');
    await e.waitVip('db-vip', (v) => v.metadata.labels?.['ovn.kubernetes.io/ip_reserved'] === 'db-0.default');

    await e.kube.delete('Pod', { namespace: 'default', name: 'db-0' });
    await e.waitGone('Pod', 'db-0', 'default');
    await makePod();
    expect(ipOf(await e.waitPod('default', 'db-0', (p) => !!ipOf(p)))).toBe('10.16.0.150');
    expect(readyCondition((await e.vip('db-vip'))!)?.status).toBe('True');
  });
});
