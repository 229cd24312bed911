// SwitchLBRule health checks on a real OVN: the balancer rows the rule reconcile builds
// (desiredSwitchLoadBalancers with a probe source and the back ends' ports, written through the
// real NB writer) make ovn-northd create southbound Service_Monitor rows, and ovn-controller
// probes each back end. A back end whose server stops is taken out of the balancer within the
// checks' interval x failure_count; once it serves again it is put back.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { northboundPort } from '../../infra/wiring/northbound-port.ts';
import {
  backendPorts,
  desiredSwitchLoadBalancers,
  parseSwitchLbRule,
} from '../../shared/domain/switch-lb.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { refreshFrontEndArp } from '../../shared/reconcile/switch-lb-rule.ts';
import { type Assembled, assemble, SUBNET } from './helpers.ts';

const run = promisify(execFile);
const LB_VIP = '10.16.0.200';
const PROBE_SOURCE = '10.16.0.2';
let s: Assembled;
const servers = new Map<string, number>();

beforeAll(async () => {
  s = await assemble();
  await s.addPod({ name: 'client', ip: '10.16.0.10', mac: '00:00:00:00:10:10' });
}, 180_000);

afterAll(async () => {
  for (const pid of servers.values()) stopServer(pid);
  await s?.stop();
});

const inPod = (pod: string, ...cmd: string[]) => s.agent.exec('default', pod, cmd);

function stopServer(pid: number) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function serve(name: string) {
  const www = join(s.dir, `www-${name}`);
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'index.html'), `${name}\n`);
  // `ip netns exec` execs the server: the child's pid is the server's.
  const child = s.agent.spawnIn('default', name, ['busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
  servers.set(name, child.pid!);
}

const ask = async (n: number) => {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const body = await inPod('client', 'curl', '-s', '-m', '2', `http://${LB_VIP}:80/`).catch(() => '');
    const k = body.trim() || 'no answer';
    seen[k] = (seen[k] ?? 0) + 1;
  }
  return seen;
};

async function monitors(): Promise<Record<string, string>> {
  const out = await run('ovn-sbctl', [
    `--db=${s.agent.sbRemote}`,
    '--format=csv',
    '--data=bare',
    '--no-headings',
    '--columns=ip,status',
    'list',
    'service_monitor',
  ]);
  return Object.fromEntries(
    out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l: string) => l.split(',') as [string, string]),
  );
}

describe('SwitchLBRule health checks', () => {
  it('a back end whose server stops gets no traffic within the check interval, and gets it again once it serves', async () => {
    await Promise.all([
      s.addPod({ name: 'web1', ip: '10.16.0.21', mac: '00:00:00:00:10:21', labels: { app: 'web' } }),
      s.addPod({ name: 'web2', ip: '10.16.0.22', mac: '00:00:00:00:10:22', labels: { app: 'web' } }),
    ]);
    serve('web1');
    serve('web2');
    // The front end: a switch_lb_vip the subnet's gateway answers ARP for.
    await s.kube.create('Vip', {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'hc-front', labels: { 'ovn.kubernetes.io/subnet': SUBNET.name } },
      spec: { subnet: SUBNET.name, type: 'switch_lb_vip' },
    });
    await s.kube.patchStatus('Vip', 'hc-front', { v4ip: LB_VIP, type: 'switch_lb_vip', ready: true });
    const nb = northboundPort(s.writer);
    await refreshFrontEndArp({ nb, kube: s.kube } as unknown as ReconcileDeps, SUBNET.name);

    // The rows the rule reconcile writes for this rule, health checks on (the default).
    const parsed = parseSwitchLbRule({
      metadata: { name: 'web' },
      spec: {
        vip: LB_VIP,
        namespace: 'default',
        selector: ['app: web'],
        ports: [{ port: 80, targetPort: 8080 }],
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const backends = ['10.16.0.21', '10.16.0.22'];
    const pods = await s.kube.listPods({ namespace: 'default' });
    const placements = [{ name: SUBNET.name, namespaces: [], default: true }];
    const ports = backendPorts(parsed.rule, SUBNET.name, backends, pods, placements);
    const [row] = desiredSwitchLoadBalancers(parsed.rule, SUBNET.name, backends, {
      source: PROBE_SOURCE,
      ports,
    });
    expect(row!.ipPortMappings).toEqual({
      '10.16.0.21': `web1.default:${PROBE_SOURCE}`,
      '10.16.0.22': `web2.default:${PROBE_SOURCE}`,
    });
    await nb.ensureLoadBalancer(row!);

    // ovn-controller probes both and finds them up; traffic reaches both.
    await waitFor(
      'both back ends online',
      async () => {
        const m = await monitors();
        return m['10.16.0.21'] === 'online' && m['10.16.0.22'] === 'online';
      },
      { timeoutMs: 40_000, intervalMs: 250 },
    );
    await waitFor(
      'both back ends answer',
      async () =>
        Object.keys(await ask(8))
          .sort()
          .join() === 'web1,web2',
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );

    // web1's server stops: within interval (5 s) x failure_count (3) plus a probe, only web2 answers.
    stopServer(servers.get('web1')!);
    servers.delete('web1');
    const t0 = Date.now();
    await waitFor('web1 offline', async () => (await monitors())['10.16.0.21'] === 'offline', {
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    const down = Date.now() - t0;
    const after = await ask(20);
    expect(after).toEqual({ web2: 20 });

    // It serves again: back in within interval x success_count.
    serve('web1');
    const t1 = Date.now();
    await waitFor('web1 online', async () => (await monitors())['10.16.0.21'] === 'online', {
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    const up = Date.now() - t1;
    await waitFor(
      'both back ends answer again',
      async () =>
        Object.keys(await ask(8))
          .sort()
          .join() === 'web1,web2',
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    console.log(
      `health checks: taken out after ${down} ms, back after ${up} ms; 20 requests while down: ${JSON.stringify(after)}`,
    );
  });
});
