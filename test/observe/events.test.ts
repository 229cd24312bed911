// Events recorded by the reconcilers, read back through the development API server the way an
// operator reads them: `kubectl describe vip X` (kubectl 1.32) and the events.k8s.io/v1 list.
// Reconciles are driven by dispatching events directly; the run's Redis and NB, a subnet of this
// file's own.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { type ControllerPorts, createControllerPorts } from '../../infra/wiring/controller.ts';
import { readConfig } from '../../shared/config.ts';
import type { Dispatch } from '../../shared/events/outcome.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { createKube, type Kube } from '../../shared/kube/index.ts';
import { createDispatch } from '../../shared/reconcile/dispatch.ts';
import { startTestApiServer, type TestApiServer } from '../kube/dev-server.ts';

const tag = randomBytes(3).toString('hex');
const SUBNET = `ev-${tag}`;
// A /29: gateway .1, five addresses to hand out.
const CIDR = '10.232.0.0/29';

let api: TestApiServer;
let kube: Kube;
let ports: ControllerPorts;
let dispatch: Dispatch;

beforeAll(async () => {
  api = await startTestApiServer(randomBytes(8).toString('hex'));
  kube = createKube({ kubeconfigPath: api.server.kubeconfigPath });
  await kube.create('Subnet', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name: SUBNET },
    spec: { cidrBlock: CIDR, gateway: '10.232.0.1', protocol: 'IPv4' },
  });
  ports = await createControllerPorts(
    readConfig({
      REDIS_URL: inject('redisUrl'),
      OVN_NB_REMOTES: inject('nbRemote'),
      KUBECONFIG: api.server.kubeconfigPath,
      LOG_LEVEL: 'silent',
    }),
  );
  dispatch = createDispatch(ports.reconcile);
  await reconcile('Subnet', SUBNET);
}, 60_000);

afterAll(async () => {
  await ports?.close();
  await api?.stop();
});

async function reconcile(kind: 'Vip' | 'Subnet' | 'Pod', name: string, action: 'add' | 'delete' = 'add') {
  const object =
    action === 'delete'
      ? undefined
      : kind === 'Vip'
        ? await kube.getVip(name)
        : kind === 'Pod'
          ? await kube.getPod('default', name)
          : await kube.getSubnet(name);
  const event: ResourceEvent = {
    action,
    mode: 'resource',
    ref:
      kind === 'Pod'
        ? { apiVersion: 'v1', kind, name, namespace: 'default' }
        : { apiVersion: 'kubeovn.io/v1', kind, name },
    ...(object ? { object } : {}),
    id: randomBytes(4).toString('hex'),
    time: new Date().toISOString(),
    source: 'test',
  };
  return dispatch(event);
}

async function createVip(name: string, spec: Record<string, unknown>) {
  await kube.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: SUBNET, type: '', ...spec },
  });
  expect((await reconcile('Vip', name)).status).toBe('done');
}

type EventItem = {
  reason: string;
  type: string;
  note: string;
  regarding: { kind: string; name: string; uid?: string };
  series?: { count: number };
};
async function eventsOf(kind: string, name: string): Promise<EventItem[]> {
  const list = (await kube.transport.request('GET', {
    path: '/apis/events.k8s.io/v1/events',
  })) as { items: EventItem[] };
  return list.items.filter((e) => e.regarding.kind === kind && e.regarding.name === name);
}

const describeVip = async (name: string) => {
  const r = await runKubectl(api.server.kubeconfigPath, ['describe', 'vip', name]);
  if (r.code !== 0) throw new Error(`kubectl describe failed: ${r.stderr}`);
  return r.stdout;
};

describe('Events on Vips and Subnets', () => {
  it('an allocation is a Normal AddressAllocated Event that kubectl describe shows', async () => {
    const name = `ev-${tag}-a`;
    await createVip(name, { v4ip: '10.232.0.2' });
    await ports.events.flush();
    const [e] = await eventsOf('Vip', name);
    expect(e).toMatchObject({ type: 'Normal', reason: 'AddressAllocated' });
    expect(e!.note).toBe(
      `allocated 10.232.0.2 mac ${(await kube.getVip(name))!.status!.mac} from subnet ${SUBNET}`,
    );
    expect(e!.regarding.uid).toBe((await kube.getVip(name))!.metadata.uid);
    const out = await describeVip(name);
    expect(out).toMatch(/Events:/);
    expect(out).toMatch(/Normal\s+AddressAllocated\s+.*allocated 10\.232\.0\.2/);
  });

  it('a conflict names the holder, and retries aggregate into one Event with a series count', async () => {
    const name = `ev-${tag}-c`;
    await createVip(name, { v4ip: '10.232.0.2' });
    for (let i = 0; i < 4; i++) expect((await reconcile('Vip', name)).status).toBe('done');
    await ports.events.flush();
    const events = (await eventsOf('Vip', name)).filter((e) => e.reason === 'AcquireAddressFailed');
    expect(events[0]?.series?.count).toBe(5);
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('Warning');
    expect(events[0]!.note).toMatch(/^AddressConflict: .*10\.232\.0\.2.*held by vip\/ev-.*-a/);
    const out = await describeVip(name);
    expect(out).toMatch(/Warning\s+AcquireAddressFailed\s+.*\(x5 over .*\).*AddressConflict/);
    console.log(`kubectl describe vip ${name}:\n${out}`);
  });

  it('an invalid spec is a ValidateFailed Warning', async () => {
    const name = `ev-${tag}-i`;
    await createVip(name, { v4ip: '10.99.0.7' });
    await ports.events.flush();
    const events = await eventsOf('Vip', name);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'ValidateFailed' });
    expect(events[0]!.note).toMatch(/^AddressOutOfRange: /);
  });

  it('a full subnet is a Warning on the Vip and a SubnetFull Warning on the Subnet', async () => {
    // Create Vips until the /29 runs out (the first refusal is the one that records the Events).
    const made: string[] = [];
    for (let i = 0; i < 8; i++) {
      const name = `ev-${tag}-f${i}`;
      await createVip(name, {});
      made.push(name);
      await ports.events.flush();
      if ((await eventsOf('Subnet', SUBNET)).length > 0) break;
    }
    await ports.events.flush();
    const onSubnet = await eventsOf('Subnet', SUBNET);
    expect(onSubnet[0]).toMatchObject({ type: 'Warning', reason: 'SubnetFull' });
    expect(onSubnet[0]!.note).toBe(`no available address in subnet ${SUBNET} for vip ${made.at(-1)}`);
    const onVip = await eventsOf('Vip', made.at(-1)!);
    expect(onVip[0]).toMatchObject({ type: 'Warning', reason: 'AcquireAddressFailed' });
    expect(onVip[0]!.note).toMatch(/^SubnetFull: /);
  });

  it('a deleted Vip gets AddressReleased', async () => {
    const name = `ev-${tag}-a`;
    await kube.delete('Vip', { name });
    // The finalizer keeps it until its reconcile releases the address.
    await reconcile('Vip', name);
    await ports.events.flush();
    const events = (await eventsOf('Vip', name)).filter((e) => e.reason === 'AddressReleased');
    expect(events[0]!.note).toBe(`released the address reserved in subnet ${SUBNET}`);
  });

  it('a parent pod joining an AAP Vip: AddressAllocated on the pod, ParentsChanged on the Vip', async () => {
    const subnet = `evp-${tag}`;
    await kube.create('Subnet', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: subnet },
      spec: { cidrBlock: '10.233.0.0/24', gateway: '10.233.0.1', protocol: 'IPv4' },
    });
    await reconcile('Subnet', subnet);
    const vip = `ev-${tag}-aap`;
    const pod = `parent-${tag}`;
    await kube.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: vip },
      spec: { subnet, namespace: 'default', selector: [`vip: ${vip}`] },
    });
    expect((await reconcile('Vip', vip)).status).toBe('done');
    await kube.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod,
        namespace: 'default',
        labels: { vip },
        annotations: { 'ovn.kubernetes.io/aaps': vip, 'ovn.kubernetes.io/logical_switch': subnet },
      },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect((await reconcile('Pod', pod)).status).toBe('done');
    expect((await reconcile('Vip', vip)).status).toBe('done');
    await ports.events.flush();
    const onPod = (await eventsOf('Pod', pod)).filter((e) => e.reason === 'AddressAllocated');
    expect(onPod[0]!.note).toMatch(
      new RegExp(`^allocated 10\\.233\\.0\\.\\d+ mac \\S+ from subnet ${subnet}$`),
    );
    const changed = (await eventsOf('Vip', vip)).filter((e) => e.reason === 'ParentsChanged');
    expect(changed.map((e) => e.note)).toEqual([`virtual parents ${pod}.default (were (none))`]);
    expect(await describeVip(vip)).toMatch(/Normal\s+ParentsChanged\s+.*virtual parents parent-/);
  });

  it('a Subnet with a spec it cannot accept gets ValidateLogicalSwitchFailed', async () => {
    const subnet = `evbad-${tag}`;
    await kube.create('Subnet', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: subnet },
      spec: { cidrBlock: '10.234.0.0/24', gateway: '10.99.0.1', protocol: 'IPv4' },
    });
    await reconcile('Subnet', subnet);
    await reconcile('Subnet', subnet);
    await ports.events.flush();
    const events = await eventsOf('Subnet', subnet);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'ValidateLogicalSwitchFailed',
      series: { count: 2 },
    });
    expect(events[0]!.note).toMatch(/^SubnetNotReady: Subnet evbad-.* is invalid: .*gateway/);
    const r = await runKubectl(api.server.kubeconfigPath, ['describe', 'subnet', subnet]);
    expect(r.stdout).toMatch(/Warning\s+ValidateLogicalSwitchFailed\s+.*\(x2 over/);
  });
});
