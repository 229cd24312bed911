// The attacks of issue 11 on the ownership boundary, against a real stack (Redis, OVN NB, the
// development API server) with the reservation API in-process on the same Redis. The relay is off
// and this file runs the reconcilers itself, so nothing heals behind the audit's back. Each attack
// is tried through the API (refused now); where it used to succeed, its outcome is then written
// straight into Redis or the API server, as the API did on main, and the audit must see it and
// repair it in the direction of the source of truth (spec and the allocator's record).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../functions/app.ts';
import { waitFor } from '../../infra/local/services.ts';
import { type OpenAuditPorts, openAuditPorts } from '../../infra/wiring/audit.ts';
import { AuditReadError, auditSystem, type Drift, DriftKind, repair } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { createKube } from '../../shared/kube/index.ts';
import { reconcileSubnet } from '../../shared/reconcile/subnet.ts';
import { reconcileVip } from '../../shared/reconcile/vip.ts';
import { type E2E, readyCondition, startE2E, vipObject } from '../e2e/harness.ts';

const SUBNET = 'ovn-default';
const TOKEN = 'audit-ownership-token';
let e: E2E;
let ports: OpenAuditPorts;
let app: ReturnType<typeof createApp>;

const show = (drifts: readonly Drift[]) => drifts.map((d) => `${d.kind} ${d.object}: ${d.detail}`).join('\n');
const seen = (drifts: readonly Drift[]) => drifts.map((d) => `${d.kind} ${d.object}`);

const api = async (method: string, path: string, body?: unknown) => {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as { reason?: string } };
};

const vipReady = async (name: string) => {
  const r = await reconcileVip(ports.reconcile, name);
  expect(r.status).toBe('done');
  // No replica runs here: the Subnet's counts are written now, not 250 ms later.
  await reconcileSubnet(ports.reconcile, SUBNET);
  return (await e.vip(name))!;
};

/** Repair, then the audit must be clean. */
async function repairClean(drifts: readonly Drift[]) {
  const report = await repair(drifts, ports);
  expect(report.failed, JSON.stringify(report.failed)).toEqual([]);
  // The counts follow a repair's releases a moment later (coalesced): wait for them, no longer.
  let after = await auditSystem(ports);
  await waitFor(
    'a clean audit',
    async () => {
      after = await auditSystem(ports);
      return after.drifts.length === 0;
    },
    { timeoutMs: 5_000, intervalMs: 100 },
  ).catch(() => undefined);
  expect(show(after.drifts)).toBe('');
  return report;
}

beforeAll(async () => {
  e = await startE2E({ relay: false, replicas: 0 });
  ports = await openAuditPorts(
    readConfig({
      REDIS_URL: e.stack.redisUrl,
      OVN_NB_REMOTES: e.stack.nbRemote,
      KUBECONFIG: e.stack.kubeconfig,
      LOG_LEVEL: 'silent',
    }),
  );
  app = createApp({ allocator: e.allocator }, { apiToken: TOKEN });
  await reconcileSubnet(ports.reconcile, SUBNET);
  await e.apply(vipObject('vip-dynamic-01', { subnet: SUBNET }));
  expect((await vipReady('vip-dynamic-01')).status?.v4ip).toBe('10.16.0.2');
}, 120_000);

afterAll(async () => {
  await ports?.close();
  await e?.stop();
});

describe('the manual API cannot undo the Kubernetes side', () => {
  it('re-registering ovn-default with another gateway is refused; the next Vip never gets the gateway', async () => {
    const r = await api('POST', '/v1/subnets', {
      name: SUBNET,
      cidrBlock: '10.16.0.0/16',
      gateway: '10.16.0.200',
    });
    expect([r.status, r.body.reason]).toEqual([409, 'ManagedByKubernetes']);
    expect((await e.allocator.getSubnet(SUBNET))?.gateway).toBe('10.16.0.1');
    await e.apply(vipObject('vip-after-attack', { subnet: SUBNET }));
    const vip = await vipReady('vip-after-attack');
    expect(vip.status?.v4ip).not.toBe('10.16.0.1');
    expect(vip.status?.ready).toBe(true);
  });

  it('DELETE ?force=true of ovn-default is refused and every reservation stays', async () => {
    const before = await e.allocator.list(SUBNET);
    const r = await api('DELETE', `/v1/subnets/${SUBNET}?force=true`);
    expect([r.status, r.body.reason]).toEqual([409, 'ManagedByKubernetes']);
    expect(await e.allocator.list(SUBNET)).toEqual(before);
    expect(before.items.map((i) => i.owner)).toContain('vip/vip-dynamic-01');
  });
});

describe('the audit sees what the attacks left, and repairs it towards the source of truth', () => {
  it("a Vip's reservation released and its address taken by a manual owner: the manual owner is moved, the Vip keeps its address", async () => {
    const r = await api('DELETE', `/v1/subnets/${SUBNET}/reservations/vip%2Fvip-dynamic-01`);
    expect([r.status, r.body.reason]).toEqual([409, 'ManagedByKubernetes']);
    expect(await e.allocator.get(SUBNET, 'vip/vip-dynamic-01')).toMatchObject({ v4: '10.16.0.2' });

    // what the API allowed on main, written straight into Redis
    expect(await e.allocator.release(SUBNET, 'vip/vip-dynamic-01')).toBe(true);
    await e.allocator.allocate({ subnet: SUBNET, owner: 'manual/thief', v4: '10.16.0.2' });
    const { drifts } = await auditSystem(ports);
    expect(seen(drifts), show(drifts)).toEqual([
      `${DriftKind.ManualOnKubernetesAddress} Reservation/${SUBNET}/manual/thief`,
      `${DriftKind.MissingReservation} Vip/vip-dynamic-01`,
    ]);
    await repairClean(drifts);
    expect(await e.allocator.get(SUBNET, 'vip/vip-dynamic-01')).toMatchObject({ v4: '10.16.0.2' });
    const thief = await e.allocator.get(SUBNET, 'manual/thief');
    expect(thief?.v4).toBeDefined();
    expect(thief?.v4).not.toBe('10.16.0.2');
    const vip = (await e.vip('vip-dynamic-01'))!;
    expect([vip.status?.ready, vip.status?.v4ip, readyCondition(vip)?.status]).toEqual([
      true,
      '10.16.0.2',
      'True',
    ]);
  });

  it('a Vip status edited to another address: the status is rewritten, the reservation does not move', async () => {
    const held = await e.allocator.get(SUBNET, 'vip/vip-dynamic-01');
    await e.kube.patch(
      'Vip',
      { name: 'vip-dynamic-01' },
      { status: { v4ip: '10.16.0.200' } },
      {
        subresource: 'status',
        type: 'merge',
      },
    );
    const { drifts } = await auditSystem(ports);
    expect(seen(drifts), show(drifts)).toEqual([`${DriftKind.StatusMismatch} Vip/vip-dynamic-01`]);
    await repairClean(drifts);
    expect(await e.allocator.get(SUBNET, 'vip/vip-dynamic-01')).toEqual(held);
    expect((await e.vip('vip-dynamic-01'))!.status?.v4ip).toBe('10.16.0.2');
    // nobody holds the edited address
    expect((await e.allocator.list(SUBNET)).items.some((i) => i.v4 === '10.16.0.200')).toBe(false);
  });

  it('a subnet registered by hand before its Subnet reconciled, its gateway taken: moved, re-registered, marked', async () => {
    const name = 'hand-made';
    await e.apply({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name },
      spec: { cidrBlock: '10.17.0.0/24', gateway: '10.17.0.1' },
    });
    // a manual registration in the window before the reconciler ran (allowed: it was not marked)
    const reg = await api('POST', '/v1/subnets', { name, cidrBlock: '10.17.0.0/24', gateway: '10.17.0.200' });
    expect(reg.status).toBe(200);
    const took = await api('POST', `/v1/subnets/${name}/reservations`, { owner: 'lb/gw', v4ip: '10.17.0.1' });
    expect(took.status).toBe(201);
    // a Vip in it is refused rather than handed an address from the wrong registration
    await e.apply(vipObject('vip-hand', { subnet: name }));
    await reconcileVip(ports.reconcile, 'vip-hand');
    expect((await e.vip('vip-hand'))!.status?.ready).toBeFalsy();
    // (its switch exists: the reconciler writes the switch before the allocator refused it)

    const { drifts } = await auditSystem(ports);
    expect(seen(drifts), show(drifts)).toEqual([
      `${DriftKind.GatewayReserved} Reservation/${name}/manual/lb/gw`,
      `${DriftKind.StaleRegistration} Subnet/${name}`,
    ]);
    expect(drifts[1]!.detail).toContain('not marked managed-by-Kubernetes');
    expect(drifts[1]!.detail).toContain('gateway 10.17.0.200, Subnet says 10.17.0.1');
    await repairClean(drifts);
    expect(await e.allocator.getSubnet(name, { fresh: true })).toMatchObject({
      gateway: '10.17.0.1',
      managedBy: 'kubernetes',
    });
    expect((await e.allocator.get(name, 'manual/lb/gw'))?.v4).toBe('10.17.0.2');
    const vip = await vipReady('vip-hand');
    expect(vip.status?.v4ip).toBe('10.17.0.3');
    // and from now on the manual API cannot change it
    const again = await api('POST', '/v1/subnets', {
      name,
      cidrBlock: '10.17.0.0/24',
      gateway: '10.17.0.200',
    });
    expect([again.status, again.body.reason]).toEqual([409, 'ManagedByKubernetes']);
  });

  it('a deleted Subnet leaves its switch and its registration: both reported and removed', async () => {
    // What a Subnet deleted while no handler ran (its finalizer removed by hand, its delete event
    // lost) leaves behind: the Kubernetes-marked registration and the switch, with no Subnet object.
    // (With the handlers running, the finalizer cleans both up: test/e2e/lifecycle.test.ts.)
    const name = 'short-lived';
    const spec = { name, cidrBlock: '10.18.0.0/24', gateway: '10.18.0.1', excludeIps: [] };
    await ports.reconcile.nb.ensureLogicalSwitch(spec);
    await e.allocator.registerSubnet(spec, { managedBy: 'kubernetes' });
    expect((await e.allocator.getSubnet(name))?.managedBy).toBe('kubernetes');
    expect(await e.kube.getSubnet(name)).toBeUndefined();

    const { drifts } = await auditSystem(ports);
    expect(seen(drifts), show(drifts)).toEqual([
      `${DriftKind.OrphanSubnetState} Subnet/${name}`,
      `${DriftKind.OrphanSwitch} Switch/${name}`,
    ]);
    await repairClean(drifts);
    expect(await e.allocator.getSubnet(name, { fresh: true })).toBeUndefined();
    expect(await e.allocator.listSubnets()).not.toContain(name);
    expect((await e.nbctl('--bare', '--columns=name', 'find', 'logical_switch', `name=${name}`)).trim()).toBe(
      '',
    );
  });
});

describe('collect: an API error is an error, only 404 is absent', () => {
  it('a failed read fails the audit with a message naming it; a 404 is a plain absence', async () => {
    // a Vip binding whose pod is gone makes the audit look up a VirtualMachine of that name
    await e.kube.patchMetadata(
      'Vip',
      { name: 'vip-after-attack' },
      { labels: { 'ovn.kubernetes.io/ip_reserved': 'vm1.default' } },
    );
    try {
      // the real API server answers 404 (no such VM): the binding is stale
      const { drifts } = await auditSystem(ports);
      expect(seen(drifts)).toEqual([`${DriftKind.StaleBinding} Vip/vip-after-attack`]);

      // the same API server with a token it refuses: 401, which must not read as "no VM"
      const badConfig = join(e.stack.dir, 'bad-token.kubeconfig');
      // (without the client certificate, which the server would accept instead)
      const text = readFileSync(e.stack.kubeconfig, 'utf8')
        .split('\n')
        .filter((l) => !/client-(certificate|key)-data:/.test(l))
        .join('\n')
        .replace(/token: .*/, 'token: wrong-token');
      writeFileSync(badConfig, text);
      const bad = createKube({ kubeconfigPath: badConfig });
      try {
        const kube = { ...ports.kube, getVirtualMachine: bad.getVirtualMachine };
        const failed = await auditSystem({ ...ports, kube }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failed).toBeInstanceOf(AuditReadError);
        expect((failed as Error).message).toMatch(/^could not read VirtualMachine default\/vm1: /);
      } finally {
        bad.close();
      }
    } finally {
      await e.kube.patchMetadata(
        'Vip',
        { name: 'vip-after-attack' },
        { labels: { 'ovn.kubernetes.io/ip_reserved': '' } },
      );
    }
  });
});
