// The audit against a real stack (Redis, OVN NB, the development API server). The relay is off and
// this file drives the reconcilers itself, so no background resync heals the injected drift while
// the audit looks at it. Drift is injected straight into Redis and NB, as a crash or an operator
// would leave it; the audit must name each one, repair must clear them, and the CLI must agree.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { writeStackFile } from '../../infra/local/stack.ts';
import { type OpenAuditPorts, openAuditPorts } from '../../infra/wiring/audit.ts';
import { auditSystem, type Drift, DriftKind, repair } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { reconcilePod } from '../../shared/reconcile/pod.ts';
import { reconcileSubnet } from '../../shared/reconcile/subnet.ts';
import { reconcileSwitchLBRule } from '../../shared/reconcile/switch-lb-rule.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { type E2E, podObject, startE2E, switchLbRuleObject, vipObject } from '../e2e/harness.ts';

const run = promisify(execFile);
const SUBNET = 'ovn-default';
let e: E2E;
let ports: OpenAuditPorts;
let stackFile: string;

const show = (drifts: readonly Drift[]) => drifts.map((d) => `${d.kind} ${d.object}: ${d.detail}`).join('\n');

/**
 * The audit once the Subnet's counts caught up: a repair's allocations and releases reach the
 * status through the coalesced refresher a moment later (250 ms). Waits for that, no longer.
 */
async function cleanAudit() {
  let drifts = (await auditSystem(ports)).drifts;
  await waitFor(
    'a clean audit',
    async () => {
      drifts = (await auditSystem(ports)).drifts;
      return drifts.length === 0;
    },
    { timeoutMs: 5_000, intervalMs: 100 },
  ).catch(() => undefined);
  return drifts;
}

beforeAll(async () => {
  e = await startE2E({ relay: false, replicas: 0 });
  stackFile = writeStackFile(e.stack, join(e.stack.dir, 'stack.json'));
  ports = await openAuditPorts(
    readConfig({
      REDIS_URL: e.stack.redisUrl,
      OVN_NB_REMOTES: e.stack.nbRemote,
      KUBECONFIG: e.stack.kubeconfig,
      LOG_LEVEL: 'silent',
    }),
  );
  const deps = ports.reconcile;
  await e.apply(vipObject('static-vip01', { subnet: SUBNET, v4ip: '10.16.0.121' }));
  await e.apply(vipObject('vip-aap', { subnet: SUBNET, namespace: 'default', selector: ['app: aap1'] }));
  await e.apply(vipObject('slr-01', { subnet: SUBNET, type: 'switch_lb_vip' }));
  await e.apply(
    podObject('default', 'busybox', {
      labels: { app: 'aap1' },
      annotations: { 'ovn.kubernetes.io/aaps': 'vip-aap' },
    }),
  );
  await e.apply(podObject('default', 'web-a', { labels: { app: 'web' } }));
  await reconcileSubnet(deps, SUBNET);
  for (const v of ['static-vip01', 'vip-aap', 'slr-01'])
    expect((await reconcileVip(deps, v)).status).toBe('done');
  for (const p of ['busybox', 'web-a']) expect((await reconcilePod(deps, 'default', p)).status).toBe('done');
  const front = (await e.vip('slr-01'))!.status!.v4ip!;
  await e.apply(
    switchLbRuleObject('web', {
      vip: front,
      namespace: 'default',
      selector: ['app: web'],
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    }),
  );
  expect((await reconcileSwitchLBRule(deps, 'web')).status).toBe('done');
  // The Subnet's counts written now (no replica runs here to do it), so they start settled.
  await reconcileSubnet(deps, SUBNET);
}, 120_000);

afterAll(async () => {
  await ports?.close();
  await e?.stop();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', ['--import', 'tsx', 'infra/local/audit.ts', '--stack', stackFile, ...args], {
      timeout: 60_000,
      env: { ...process.env, REDIS_URL: '', REDIS_CLUSTER_NODES: '', OVN_NB_REMOTES: '', KUBECONFIG: '' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const x = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof x.code !== 'number') throw err;
    return { code: x.code, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('audit of a running system', () => {
  it('a system built by the reconcilers is clean, and counts what it read', async () => {
    const { drifts, counts } = await auditSystem(ports);
    expect(show(drifts)).toBe('');
    expect(counts).toMatchObject({ vips: 3, pods: 2, loadBalancers: 1 });
    // 3 Vips + 2 pods hold addresses, and the probe source of the rule's health checks
    // (hc/<subnet>); busybox's port, web-a's port and vip-aap's virtual port.
    expect(counts.reservations).toBe(6);
    expect(counts.ports).toBe(3);
    const clean = await cli('--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ clean: true, drifts: [] });
    expect(clean.stderr).toMatch(/\[audit\] vips: 3/);
  });

  it('names each injected drift, repairs it towards the API server, and is clean after', async () => {
    const before = (await e.vip('static-vip01'))!.status!;
    const aapPort = await e.portOptions('vip-aap');
    expect(aapPort?.['virtual-parents']).toBe('busybox.default');

    // 1. a leaked reservation: an owner the API server has never heard of
    await e.allocator.allocate({ subnet: SUBNET, owner: 'vip/ghost' });
    // 2. an orphan pod port: a pod that is gone
    await e.nbctl(
      '--',
      'lsp-add',
      SUBNET,
      'gone.default',
      '--',
      'lsp-set-addresses',
      'gone.default',
      '00:00:00:00:0e:01 10.16.0.250',
      '--',
      'set',
      'logical_switch_port',
      'gone.default',
      'external_ids:pod=default/gone',
      'external_ids:vendor=kube-ovn',
      `external_ids:ls=${SUBNET}`,
    );
    // 3. the AAP Vip's virtual port deleted behind its back
    await e.nbctl('lsp-del', 'vip-aap');
    // 4. a Ready Vip whose reservation was released behind its back
    expect(await e.allocator.release(SUBNET, 'vip/static-vip01')).toBe(true);
    // 5. an orphan load balancer of a rule that does not exist
    await e.nbctl(
      '--',
      '--id=@lb',
      'create',
      'load_balancer',
      'name=slr-ghost-tcp',
      'protocol=tcp',
      'vips:"10.16.0.251:80"="10.16.0.9:80"',
      'external_ids:switch-lb-rule=ghost',
      'external_ids:vendor=kube-ovn',
    );

    const { drifts } = await auditSystem(ports);
    const seen = drifts.map((d) => `${d.kind} ${d.object}`);
    expect(seen, show(drifts)).toEqual([
      `${DriftKind.LeakedReservation} Reservation/${SUBNET}/vip/ghost`,
      `${DriftKind.MissingPort} Vip/vip-aap`,
      `${DriftKind.MissingReservation} Vip/static-vip01`,
      `${DriftKind.OrphanLoadBalancer} LoadBalancer/slr-ghost-tcp`,
      `${DriftKind.OrphanPort} Port/gone.default`,
    ]);
    expect(drifts.find((d) => d.kind === DriftKind.MissingReservation)!.detail).toContain('10.16.0.121');

    // The CLI sees the same, as a table, and exits 1.
    const table = await cli('--quiet');
    expect(table.code).toBe(1);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+OBJECT\s+DETAIL\s+REPAIR$/);
    expect(lines).toHaveLength(1 + 5 + 1);
    expect(lines.at(-1)).toMatch(/^5 drifts \(.*1 leaked-reservation.*\) in 3 Vips, 2 pods/);
    expect(table.stderr).toBe('');

    const report = await repair(drifts, ports);
    expect(report.failed, JSON.stringify(report.failed)).toEqual([]);
    expect(report.repaired).toBe(5);

    const after = await auditSystem(ports);
    expect(show(after.drifts)).toBe('');
    // Repaired in the direction of the API server: the Vip holds the address its status shows.
    expect(await e.allocator.get(SUBNET, 'vip/static-vip01')).toMatchObject({
      v4: '10.16.0.121',
      mac: before.mac,
    });
    expect(await e.allocator.get(SUBNET, 'vip/ghost')).toBeUndefined();
    expect((await e.portOptions('vip-aap'))?.['virtual-parents']).toBe('busybox.default');
    expect(await e.portOptions('gone.default')).toBeUndefined();
    expect((await e.nbctl('--bare', '--columns=name', 'list', 'load_balancer')).trim()).toBe('slr-web-tcp');
  });

  it('a MAC held in two subnets is reported under each (no subnet alone sees both records)', async () => {
    // a manual subnet beside ovn-default; its reservation's record made to carry busybox's MAC (a
    // dynamic MAC in layout v3 has no m:<MAC> that would name one of the two holders)
    const spare = 'audit-spare';
    await e.allocator.registerSubnet({ name: spare, cidrBlock: '10.66.0.0/24' });
    await e.allocator.allocate({ subnet: spare, owner: 'vip/twin' });
    const busybox = (await e.allocator.get(SUBNET, 'pod/busybox.default'))!;
    const key = `{ipam:${spare}}:state`;
    const rec = (await e.redis.hget(key, 'o:vip/twin'))!;
    await e.redis.hset(key, 'o:vip/twin', rec.replace(/\|[^|]*$/, `|${busybox.mac}`));
    try {
      const { drifts } = await auditSystem(ports);
      const message = `mac: MAC ${busybox.mac} is held in more than one subnet: by ${spare}/vip/twin, ${SUBNET}/pod/busybox.default`;
      expect(
        drifts.filter((d) => d.kind === DriftKind.AllocatorInvariant).map((d) => `${d.object} ${d.detail}`),
        show(drifts),
      ).toEqual([`Subnet/${spare} ${message}`, `Subnet/${SUBNET} ${message}`]);
    } finally {
      // the record back first: a release frees the MAC its record names
      await e.redis.hset(key, 'o:vip/twin', rec);
      await e.allocator.deleteSubnet(spare, { force: true });
    }
    expect(show(await cleanAudit())).toBe('');
  });

  it('wrong parents, a stale load balancer and a stale Vip binding, repaired', async () => {
    const front = (await e.vip('slr-01'))!.status!.v4ip!;
    await e.nbctl('set', 'logical_switch_port', 'vip-aap', 'options:virtual-parents="ghost.default"');
    await e.nbctl('set', 'load_balancer', 'slr-web-tcp', `vips:"${front}:80"="10.16.0.99:8080"`);
    // A StatefulSet pod's binding left behind: no pod, no StatefulSet.
    await e.kube.patchMetadata(
      'Vip',
      { name: 'static-vip01' },
      { labels: { 'ovn.kubernetes.io/ip_reserved': 'db-0.default' } },
    );

    const { drifts } = await auditSystem(ports);
    expect(
      drifts.map((d) => `${d.kind} ${d.object}`),
      show(drifts),
    ).toEqual([
      `${DriftKind.StaleBinding} Vip/static-vip01`,
      `${DriftKind.StaleLoadBalancer} LoadBalancer/slr-web-tcp`,
      `${DriftKind.WrongParents} Port/vip-aap`,
    ]);
    const report = await repair(drifts, ports);
    expect(report.failed, JSON.stringify(report.failed)).toEqual([]);
    expect(show(await cleanAudit())).toBe('');
    expect((await e.portOptions('vip-aap'))?.['virtual-parents']).toBe('busybox.default');
    expect((await e.vip('static-vip01'))!.metadata.labels?.['ovn.kubernetes.io/ip_reserved']).toBe('');
    // The Vip keeps its address: only the binding was dropped.
    expect((await e.vip('static-vip01'))!.status?.v4ip).toBe('10.16.0.121');
  });

  it('the CLI repairs with --repair and exits 0 once clean; --json carries before and after', async () => {
    await e.allocator.allocate({ subnet: SUBNET, owner: 'pod/nobody.default' });
    const pod = (await e.pod('default', 'web-a'))!;
    const ip = pod.metadata.annotations!['ovn.kubernetes.io/ip_address']!;
    // The pod's reservation released: repair must reserve the annotated address again, not a new one.
    await e.allocator.release(SUBNET, 'pod/web-a.default');

    // Two rounds: the drift is lasting, so both see it and it is reported.
    const found = await cli('--json', '--quiet', '--rounds', '2', '--interval', '50');
    expect(found.code).toBe(1);
    const doc = JSON.parse(found.stdout) as { clean: boolean; drifts: Drift[] };
    expect(doc.clean).toBe(false);
    expect(doc.drifts.map((d) => `${d.kind} ${d.object}`)).toEqual([
      `${DriftKind.LeakedReservation} Reservation/${SUBNET}/pod/nobody.default`,
      `${DriftKind.MissingReservation} Pod/default/web-a`,
    ]);

    const fixed = await cli('--repair', '--json', '--quiet');
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    const out = JSON.parse(fixed.stdout) as {
      clean: boolean;
      before: { drifts: Drift[] };
      repair: { repaired: number };
      after: { drifts: Drift[] };
    };
    expect(out).toMatchObject({ clean: true, repair: { repaired: 2 }, after: { drifts: [] } });
    expect(out.before.drifts).toHaveLength(2);
    expect((await e.allocator.get(SUBNET, 'pod/web-a.default'))?.v4).toBe(ip);
    expect(await e.allocator.get(SUBNET, 'pod/nobody.default')).toBeUndefined();
  });

  it('after Redis lost everything, repair puts back every address the API server shows', async () => {
    const vipAddrs = async () =>
      Object.fromEntries(
        await Promise.all(
          ['static-vip01', 'vip-aap', 'slr-01'].map(async (n) => [n, (await e.vip(n))!.status!.v4ip]),
        ),
      );
    const podAddrs = async () =>
      Object.fromEntries(
        await Promise.all(
          ['busybox', 'web-a'].map(async (n) => [
            n,
            (await e.pod('default', n))!.metadata.annotations!['ovn.kubernetes.io/ip_address'],
          ]),
        ),
      );
    const [vipsBefore, podsBefore] = [await vipAddrs(), await podAddrs()];
    await e.redis.flushall();

    const { drifts } = await auditSystem(ports);
    expect(
      drifts.map((d) => `${d.kind} ${d.object}`),
      show(drifts),
    ).toEqual([
      `${DriftKind.MissingReservation} Pod/default/busybox`,
      `${DriftKind.MissingReservation} Pod/default/web-a`,
      `${DriftKind.MissingReservation} Vip/slr-01`,
      `${DriftKind.MissingReservation} Vip/static-vip01`,
      `${DriftKind.MissingReservation} Vip/vip-aap`,
    ]);
    const report = await repair(drifts, ports);
    expect(report.failed, JSON.stringify(report.failed)).toEqual([]);
    expect(show(await cleanAudit())).toBe('');
    expect(await vipAddrs()).toEqual(vipsBefore);
    expect(await podAddrs()).toEqual(podsBefore);
    expect((await e.allocator.get(SUBNET, 'pod/web-a.default'))?.v4).toBe(podsBefore['web-a']);
  });

  it('after OVN NB lost the switch and the load balancer, repair rebuilds them from the API server', async () => {
    await e.nbctl('ls-del', SUBNET);
    await e.nbctl('lb-del', 'slr-web-tcp');
    const { drifts } = await auditSystem(ports);
    expect(
      drifts.map((d) => `${d.kind} ${d.object}`),
      show(drifts),
    ).toEqual([
      `${DriftKind.MissingLoadBalancer} SwitchLBRule/web`,
      `${DriftKind.MissingPort} Pod/default/busybox`,
      `${DriftKind.MissingPort} Pod/default/web-a`,
      `${DriftKind.MissingPort} Vip/vip-aap`,
      `${DriftKind.MissingSwitch} Subnet/${SUBNET}`,
    ]);
    const report = await repair(drifts, ports);
    expect(report.failed, JSON.stringify(report.failed)).toEqual([]);
    expect(show(await cleanAudit())).toBe('');
    expect((await e.portOptions('vip-aap'))?.['virtual-parents']).toBe('busybox.default');
  });
});
