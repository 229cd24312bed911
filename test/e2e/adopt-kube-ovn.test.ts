// Taking a cluster over from kube-ovn's own controller (README "Moving over from kube-ovn"): the
// API server and OVN NB hold what kube-ovn left (Vips with their status, labels and finalizer, pods
// with kube-ovn's annotations, IP objects, virtual ports with parents and port security, a load
// balancer), Redis is empty, and this system starts on it. Every address and MAC stays what it
// was, a second full pass writes nothing, the audit is clean, and what is created afterwards never
// takes an adopted address or MAC.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopPid, waitFor } from '../../infra/local/services.ts';
import { openAuditPorts } from '../../infra/wiring/audit.ts';
import { auditSystem } from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { type E2E, podObject, readyCondition, startE2E, vipObject } from './harness.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E({ relay: false });
});
afterAll(async () => {
  await e?.stop();
});

const SUBNET = 'ovn-default';
const KUBE_OVN_LABELS = { 'ovn.kubernetes.io/subnet': SUBNET, 'ovn.kubernetes.io/ip_reserved': '' };
const KUBE_OVN_FINALIZER = 'kubeovn.io/kube-ovn-controller';

/** The addresses kube-ovn gave out: the lowest of the subnet, which a fresh allocator hands out first. */
const LEFT = {
  sts: { ip: '10.16.0.2', mac: '00:00:00:6b:00:02' }, // web-0 of a StatefulSet, not running now
  aap: { ip: '10.16.0.3', mac: '00:00:00:6b:00:03' },
  plain: { ip: '10.16.0.4', mac: '00:00:00:6b:00:04' },
  podA: { ip: '10.16.0.5', mac: '00:00:00:6b:00:05' },
  podB: { ip: '10.16.0.6', mac: '00:00:00:6b:00:06' },
};
const sameMac = (a?: string, b?: string) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** kube-ovn's pod annotations for one primary NIC. */
const kubeOvnPodAnnotations = (a: { ip: string; mac: string }, extra: Record<string, string> = {}) => ({
  'ovn.kubernetes.io/allocated': 'true',
  'ovn.kubernetes.io/ip_address': a.ip,
  'ovn.kubernetes.io/mac_address': a.mac,
  'ovn.kubernetes.io/cidr': '10.16.0.0/16',
  'ovn.kubernetes.io/gateway': '10.16.0.1',
  'ovn.kubernetes.io/logical_switch': SUBNET,
  'ovn.kubernetes.io/pod_nic_type': 'veth-pair',
  'ovn.kubernetes.io/routed': 'true',
  ...extra,
});

/** A Vip as kube-ovn's controller leaves it: spec and status carry the assignment. */
async function kubeOvnVip(name: string, spec: Record<string, unknown>, a: { ip: string; mac: string }) {
  const obj = vipObject(name, { subnet: SUBNET, ...spec, v4ip: a.ip, macAddress: a.mac });
  obj.metadata.labels = { ...KUBE_OVN_LABELS };
  obj.metadata.finalizers = [KUBE_OVN_FINALIZER];
  await e.apply(obj);
  await e.kube.patchStatus('Vip', name, { v4ip: a.ip, v6ip: '', mac: a.mac, type: '' });
}

const ipObject = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'IP',
  metadata: { name },
  spec,
});

/** The NB rows in a comparable form: every column of the tables the handlers write, sorted. */
async function nbRows(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['logical_switch', 'logical_switch_port', 'load_balancer']) {
    const csv = await e.nbctl('--format=csv', '--data=bare', '--no-headings', 'list', table);
    out.push(
      ...csv
        .split('\n')
        .filter(Boolean)
        .map((l) => `${table} ${l}`),
    );
  }
  return out.sort();
}

async function objectVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const v of await e.kube.listVips()) out[`vip/${v.metadata.name}`] = v.metadata.resourceVersion ?? '';
  for (const p of await e.kube.listPods({})) out[`pod/${p.metadata.name}`] = p.metadata.resourceVersion ?? '';
  for (const s of await e.kube.listSubnets())
    out[`subnet/${s.metadata.name}`] = s.metadata.resourceVersion ?? '';
  return out;
}

/** Stops the relay once it has delivered everything it queued (its last line says so). */
async function drainRelay(): Promise<void> {
  const relay = e.stack.relay!;
  // Longer than the relay's own drain deadline, so it is never cut short on a loaded machine.
  await stopPid(relay.pid, 'SIGTERM', 20_000);
  const last = readFileSync(relay.logFile, 'utf8').trim().split('\n').at(-1)!;
  expect(JSON.parse(last).msg).toBe('relay stopped; 0 key(s) were pending');
}

async function audit() {
  const ports = await openAuditPorts(
    readConfig({
      REDIS_URL: e.stack.redisUrl,
      OVN_NB_REMOTES: e.stack.nbRemote,
      KUBECONFIG: e.stack.kubeconfig,
      LOG_LEVEL: 'silent',
    }),
  );
  try {
    return await auditSystem(ports);
  } finally {
    await ports.close();
  }
}

describe('moving a cluster over from kube-ovn', () => {
  it('adopts every address and MAC, writes nothing twice, and never hands an adopted one out again', async () => {
    // --- What kube-ovn left in OVN NB.
    await e.nbctl(
      'ls-add',
      SUBNET,
      '--',
      'set',
      'logical_switch',
      SUBNET,
      'other_config:subnet=10.16.0.0/16',
      'other_config:gateway=10.16.0.1',
      'other_config:exclude_ips=10.16.0.1',
      'external_ids:vendor=kube-ovn',
    );
    // kube-ovn's own external_ids on pod ports include its security groups' membership keys.
    for (const [pod, a, extra, sg] of [
      ['kov-a', LEFT.podA, [LEFT.aap.ip], ['security_groups=sg1', 'external_ids:associated_sg_sg1=true']],
      ['kov-b', LEFT.podB, [], ['external_ids:associated_sg_default-securitygroup=false']],
    ] as const) {
      const port = `${pod}.default`;
      await e.nbctl(
        'lsp-add',
        SUBNET,
        port,
        '--',
        'lsp-set-addresses',
        port,
        `${a.mac} ${a.ip}`,
        '--',
        'lsp-set-port-security',
        port,
        [a.mac, a.ip, ...extra].join(' '),
        '--',
        'set',
        'logical_switch_port',
        port,
        `external_ids:ls=${SUBNET}`,
        'external_ids:vendor=kube-ovn',
        `external_ids:pod=default/${pod}`,
        ...sg.map((kv) => (kv.startsWith('external_ids:') ? kv : `external_ids:${kv}`)),
      );
    }
    await e.nbctl(
      'lsp-add',
      SUBNET,
      'kov-aap',
      '--',
      'set',
      'logical_switch_port',
      'kov-aap',
      'type=virtual',
      `options:virtual-ip=${LEFT.aap.ip}`,
      'options:virtual-parents=kov-a.default',
      `external_ids:ls=${SUBNET}`,
      'external_ids:vendor=kube-ovn',
    );
    // A load balancer of kube-ovn's own (a Service): not this system's, left as it is.
    await e.nbctl('lb-add', 'cluster-tcp-loadbalancer', '10.96.0.10:53', `${LEFT.podB.ip}:53`, 'tcp');
    await e.nbctl('ls-lb-add', SUBNET, 'cluster-tcp-loadbalancer');

    // --- What kube-ovn left in the API server.
    await kubeOvnVip('kov-aap', { namespace: 'default', selector: ['app: kov'] }, LEFT.aap);
    await e.kube.patchStatus('Vip', 'kov-aap', {
      pv4ip: LEFT.podA.ip,
      pmac: LEFT.podA.mac,
      ready: true,
    });
    await kubeOvnVip('kov-plain', {}, LEFT.plain);
    await e.apply(
      podObject('default', 'kov-a', {
        labels: { app: 'kov' },
        annotations: kubeOvnPodAnnotations(LEFT.podA, { 'ovn.kubernetes.io/aaps': 'kov-aap' }),
      }),
    );
    await e.apply(podObject('default', 'kov-b', { annotations: kubeOvnPodAnnotations(LEFT.podB) }));
    await e.kube.create(
      'IP',
      ipObject('kov-a.default', {
        podName: 'kov-a',
        namespace: 'default',
        subnet: SUBNET,
        ipAddress: LEFT.podA.ip,
        v4IpAddress: LEFT.podA.ip,
        macAddress: LEFT.podA.mac,
        podType: '',
      }),
    );
    // A StatefulSet pod that is not running: only its IP object remembers its address.
    await e.kube.create(
      'IP',
      ipObject('web-0.default', {
        podName: 'web-0',
        namespace: 'default',
        subnet: SUBNET,
        ipAddress: LEFT.sts.ip,
        v4IpAddress: LEFT.sts.ip,
        macAddress: LEFT.sts.mac,
        podType: 'StatefulSet',
      }),
    );
    const keptRows = (await nbRows()).filter((r) => /kov-|cluster-tcp/.test(r));

    // --- This system starts on it, with an empty Redis.
    await e.stack.startRelay();
    for (const name of ['kov-aap', 'kov-plain'])
      await e.waitVip(name, (v) => readyCondition(v)?.status === 'True', 'Ready', 30_000);
    const owners = {
      'vip/kov-aap': LEFT.aap,
      'vip/kov-plain': LEFT.plain,
      'pod/kov-a.default': LEFT.podA,
      'pod/kov-b.default': LEFT.podB,
      'ip/web-0.default': LEFT.sts,
    };
    await waitFor(
      'every kube-ovn assignment held in Redis',
      async () => {
        for (const owner of Object.keys(owners)) if (!(await e.allocator.get(SUBNET, owner))) return false;
        // ... and written back where each object shows it (a status or annotation write comes
        // after the reservation; on a loaded machine, visibly later).
        for (const name of ['kov-aap', 'kov-plain']) if (!(await e.vip(name))?.status?.ready) return false;
        for (const pod of ['kov-a', 'kov-b'])
          if (!(await e.pod('default', pod))?.metadata.annotations?.['ovn.kubernetes.io/ip_address'])
            return false;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Every address and MAC stays what it was: in Redis, on the objects, in NB.
    for (const [owner, a] of Object.entries(owners)) {
      const r = await e.allocator.get(SUBNET, owner);
      expect({ owner, v4: r?.v4, mac: sameMac(r?.mac, a.mac) }).toEqual({ owner, v4: a.ip, mac: true });
    }
    for (const [name, a] of [
      ['kov-aap', LEFT.aap],
      ['kov-plain', LEFT.plain],
    ] as const) {
      const v = await e.vip(name);
      expect({ name, v4ip: v?.status?.v4ip, mac: sameMac(v?.status?.mac, a.mac) }).toEqual({
        name,
        v4ip: a.ip,
        mac: true,
      });
    }
    for (const [pod, a] of [
      ['kov-a', LEFT.podA],
      ['kov-b', LEFT.podB],
    ] as const) {
      const ann = (await e.pod('default', pod))?.metadata.annotations ?? {};
      expect(ann['ovn.kubernetes.io/ip_address']).toBe(a.ip);
      expect(sameMac(ann['ovn.kubernetes.io/mac_address'], a.mac)).toBe(true);
    }
    // kube-ovn's rows were already right: kept as they were, same row ids, nothing rewritten.
    expect((await nbRows()).filter((r) => /kov-|cluster-tcp/.test(r))).toEqual(keptRows);
    expect(await e.portSecurity('kov-a.default')).toBe(`${LEFT.podA.mac} ${LEFT.podA.ip} ${LEFT.aap.ip}`);

    // A second full pass (a new relay lists and sends everything again) writes nothing. Each
    // relay is stopped before reading: it finishes its deliveries (each answered once handled).
    await drainRelay();
    const versions = await objectVersions();
    const rows = await nbRows();
    // Without the settled-version store, or this relay would skip everything and prove nothing.
    await e.stack.startRelay(0, { state: false });
    await drainRelay();
    expect(await objectVersions()).toEqual(versions);
    expect(await nbRows()).toEqual(rows);
    expect((await audit()).drifts).toEqual([]);

    await e.stack.startRelay();
    // What is created afterwards never takes an adopted address or MAC.
    const adopted = Object.values(LEFT);
    await e.apply(vipObject('after-1', { subnet: SUBNET }));
    await e.apply(vipObject('after-2', { subnet: SUBNET }));
    await e.apply(podObject('default', 'after-pod'));
    const fresh: { ip: string; mac: string }[] = [];
    for (const name of ['after-1', 'after-2']) {
      const v = await e.waitVip(name, (x) => !!x.status?.v4ip, 'an address', 30_000);
      fresh.push({ ip: v.status!.v4ip!, mac: v.status!.mac! });
    }
    const p = await e.waitPod(
      'default',
      'after-pod',
      (x) => !!x.metadata.annotations?.['ovn.kubernetes.io/ip_address'],
    );
    fresh.push({
      ip: p.metadata.annotations!['ovn.kubernetes.io/ip_address']!,
      mac: p.metadata.annotations!['ovn.kubernetes.io/mac_address']!,
    });
    for (const f of fresh) {
      expect(adopted.map((a) => a.ip)).not.toContain(f.ip);
      expect(adopted.some((a) => sameMac(a.mac, f.mac))).toBe(false);
    }
    expect((await audit()).drifts).toEqual([]);
  });
});
