// The seed document's walkthrough, command for command, as a user types it against `npm start`
// (run as root, so the node agent's dataplane is up): the real kubectl 1.32 with bin/ on PATH for
// `kubectl ko`, the seed's YAML from examples/ unchanged, `kubectl exec` into pods that are real
// network namespaces. The README's "Try the seed" is this sequence.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir, waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { type E2E, startE2E } from '../e2e/harness.ts';
import { requireRoot } from './helpers.ts';

let e: E2E;
let kubectlBin: string;
let home: string;

/** One command line of the seed, run as a shell would split it (no quoting needed in the seed's). */
function sh(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...args] = line.split(/\s+/).filter(Boolean);
  if (cmd !== 'kubectl') throw new Error(`not a kubectl line: ${line}`);
  return new Promise((resolve) => {
    const child = execFile(
      kubectlBin,
      args,
      {
        env: {
          PATH: `${join(ROOT, 'bin')}${delimiter}${process.env.PATH}`,
          HOME: home,
          KUBECONFIG: e.stack.kubeconfig,
        },
        cwd: ROOT,
        timeout: 30_000,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

async function ok(line: string): Promise<string> {
  const r = await sh(line);
  if (r.code !== 0) throw new Error(`${line} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? '';

beforeAll(async () => {
  requireRoot();
  kubectlBin = findKubectl();
  home = makeTempDir('vipres-seed-home-');
  // dataplane: the node agent, wired to the API server for exec, as `npm start` runs it.
  e = await startE2E({ dataplane: true });
}, 240_000);

afterAll(async () => {
  await e?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("the seed's walkthrough, verbatim", () => {
  let vip = '';
  let busyboxIp = '';

  it('1.1 and 1.2: a dynamic and a fixed Vip, as `kubectl get vip` shows them', async () => {
    await ok('kubectl apply -f examples/vip-dynamic-01.yaml');
    await ok('kubectl apply -f examples/static-vip01.yaml');
    await e.waitVip('static-vip01', (v) => v.status?.ready === true);
    await e.waitVip('vip-dynamic-01', (v) => v.status?.ready === true);
    const table = await ok('kubectl get vip');
    expect(table).toMatch(/^NAME\s+V4IP\s+PV4IP\s+MAC\s+PMAC\s+V6IP\s+PV6IP\s+SUBNET\s+READY/);
    expect(table).toMatch(/static-vip01\s+10\.16\.0\.121\s+\S+\s+ovn-default\s+true/);
    expect(table).toMatch(/vip-dynamic-01\s+10\.16\.\d+\.\d+\s+\S+\s+ovn-default\s+true/);
  }, 60_000);

  it('1.3: `kubectl ko nbctl show ovn-default` lists the Vip port with type: virtual', async () => {
    await ok('kubectl apply -f examples/vip-aap.yaml');
    await ok('kubectl apply -f examples/busybox-pod.yaml');
    vip = (await e.waitVip('vip-aap', (v) => v.status?.ready === true)).status!.v4ip!;
    // The seed prints the port as `aap-vip`, but its YAML names the Vip `vip-aap`, and the port is
    // named after the Vip: the YAML's name is the one checked.
    await waitFor(
      'virtual-parents',
      async () => (await e.portOptions('vip-aap'))?.['virtual-parents'] === 'busybox.default',
      {
        timeoutMs: 15_000,
      },
    );
    const show = await ok('kubectl ko nbctl show ovn-default');
    expect(show).toMatch(/^switch [0-9a-f-]{36} \(ovn-default\)$/m);
    expect(show).toMatch(/\n {4}port vip-aap\n {8}type: virtual\n/);
  }, 60_000);

  it('`kubectl ko nbctl list logical_switch_port vip-aap` shows virtual-ip and virtual-parents', async () => {
    const row = await ok('kubectl ko nbctl list logical_switch_port vip-aap');
    expect(row).toMatch(/^name\s+: vip-aap$/m);
    expect(row).toMatch(/^type\s+: virtual$/m);
    // The seed's cluster gave 10.16.0.100; ours gives the next free address. The options are the same.
    // ovn-nbctl 23.03 quotes `busybox.default` only in newer releases (the seed's shows quotes).
    const ip = vip.replaceAll('.', '\\.');
    expect(row).toMatch(
      new RegExp(`^options\\s+: \\{virtual-ip="${ip}", virtual-parents="?busybox\\.default"?\\}$`, 'm'),
    );
  }, 30_000);

  it('`kubectl exec -it busybox -- ip addr add <vip>/16 dev eth0`, then eth0 holds both addresses', async () => {
    busyboxIp = ipOf(await e.waitPod('default', 'busybox', (p) => !!ipOf(p), 'an address'));
    // The node agent wires the namespace right after the handlers allocate; until then exec says why.
    await waitFor('busybox wired', async () => (await sh('kubectl exec busybox -- true')).code === 0, {
      timeoutMs: 20_000,
    });
    // No terminal here: kubectl says "Unable to use a TTY" and runs it without one, as from a script.
    await ok(`kubectl exec -it busybox -- ip addr add ${vip}/16 dev eth0`);
    // The seed says `busybox01` here; its YAML names the pod `busybox`.
    const eth0 = await ok('kubectl exec -it busybox -- ip addr show eth0');
    expect(eth0).toMatch(/^\d+: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP>/m);
    expect(eth0).toMatch(
      new RegExp(`inet ${busyboxIp.replaceAll('.', '\\.')}/16 (brd \\S+ )?scope global eth0`),
    );
    expect(eth0).toContain(`inet ${vip}/16 scope global secondary eth0`);
  }, 60_000);

  it('another pod of the subnet reaches both addresses (`kubectl exec <pod> -- ping`)', async () => {
    await ok('kubectl run client --image=busybox --restart=Never -- sleep 3600');
    await e.waitPod('default', 'client', (p) => !!ipOf(p), 'an address');
    await waitFor('client wired', async () => (await sh('kubectl exec client -- true')).code === 0, {
      timeoutMs: 20_000,
    });
    // The first ARP for the VIP is answered by busybox, which makes OVN bind the virtual port.
    for (const addr of [busyboxIp, vip])
      await waitFor(
        `ping ${addr}`,
        async () => (await sh(`kubectl exec client -- ping -c 1 -W 1 ${addr}`)).code === 0,
        {
          timeoutMs: 15_000,
        },
      );
    const r = await sh(`kubectl exec client -- ping -c 1 -W 1 ${vip}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`1 packets transmitted, 1 received`);
    // A non-zero exit comes back as the command's own: nobody has 10.16.255.254.
    const none = await sh('kubectl exec client -- ping -c 1 -W 1 10.16.255.254');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('command terminated with exit code 1');
    // The southbound side names busybox as the binding's parent.
    expect(
      await ok('kubectl ko sbctl --columns=virtual_parent find port_binding logical_port=vip-aap'),
    ).toContain('busybox.default');
  }, 60_000);

  it('`kubectl ko trace` follows a packet from the client through the logical flows', async () => {
    const out = await ok(`kubectl ko trace default/client ${busyboxIp} icmp`);
    expect(out).toContain('ingress(dp="ovn-default", inport="client.default")');
    expect(out).toContain('output to "busybox.default"');
  }, 30_000);

  it('2 and 3: the switch_lb_vip Vip, and a pod fixed to a Vip has its address on eth0', async () => {
    await ok('kubectl apply -f examples/slr-01.yaml');
    const slr = await e.waitVip('slr-01', (v) => v.status?.ready === true);
    expect(slr.spec.type).toBe('switch_lb_vip');
    expect(slr.status?.v4ip).toMatch(/^10\.16\./);
    await ok('kubectl apply -f examples/pod-use-vip.yaml');
    const fixed = (await e.waitVip('pod-use-vip', (v) => v.status?.ready === true)).status!.v4ip!;
    await ok('kubectl apply -f examples/static-ip-pod.yaml');
    expect(ipOf(await e.waitPod('default', 'static-ip', (p) => !!ipOf(p), 'an address'))).toBe(fixed);
    await waitFor('static-ip wired', async () => (await sh('kubectl exec static-ip -- true')).code === 0, {
      timeoutMs: 20_000,
    });
    expect(await ok('kubectl exec static-ip -- ip addr show eth0')).toContain(`inet ${fixed}/16`);
  }, 60_000);
});
