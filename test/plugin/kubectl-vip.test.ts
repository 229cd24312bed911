// `kubectl vip` against a running stack, through the real kubectl (1.32) finding the plugin on PATH:
// who, usage, holders, audit [--repair] and trace (NB rows; SB from a southbound ovsdb-server of
// our own, and the message when there is none). Connection from the environment, and from a
// stack file with no environment at all.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { makeTempDir, type OvsdbServer, startOvsdbServer, waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import { SB_DATABASE } from '../../shared/ovn/sb/virtual-parent.ts';
import { OvsdbClient } from '../../shared/ovsdb/client.ts';
import { namedUuid, op } from '../../shared/ovsdb/protocol.ts';
import { type E2E, podObject, startE2E, switchLbRuleObject, vipObject } from '../e2e/harness.ts';

let e: E2E;
let kubectl: string;
let home: string;
let sb: OvsdbServer | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl vip ...` with only our bin/ added to PATH; `env` replaces the connection settings. */
function vip(args: string[], env?: Record<string, string>): Promise<Result> {
  const base: Record<string, string> = {
    PATH: `${join(ROOT, 'bin')}${delimiter}${process.env.PATH}`,
    HOME: home, // no ~/.kube/config of the machine
  };
  const connection = env ?? {
    KUBECONFIG: e.stack.kubeconfig,
    REDIS_URL: e.stack.redisUrl!,
    OVN_NB_REMOTES: e.stack.nbRemote,
  };
  return new Promise((resolve) => {
    execFile(
      kubectl,
      ['vip', ...args],
      { env: { ...base, ...connection }, timeout: 60_000, killSignal: 'SIGKILL', cwd: home },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

async function ok(args: string[], env?: Record<string, string>): Promise<string> {
  const r = await vip(args, env);
  if (r.code !== 0) throw new Error(`kubectl vip ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const ipOf = (p: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  p?.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? '';

beforeAll(async () => {
  kubectl = findKubectl();
  home = makeTempDir('vipres-plugin-home-');
  // No resync during the file: the audit test plants a leaked reservation that a resync's sweep
  // would heal before `kubectl vip audit` sees it (each plugin start takes seconds under load).
  e = await startE2E({ resync: '1h' });
}, 120_000);

afterAll(async () => {
  await e?.stop();
  await sb?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('kubectl vip', () => {
  it('is found by kubectl on PATH and prints its usage', async () => {
    const out = await ok(['--help']);
    for (const c of ['who <ip>', 'usage [subnet]', 'holders', 'audit [--repair]', 'trace <vip>'])
      expect(out).toContain(c);
    const bad = await vip(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
  }, 30_000);

  it('who: names the Vip, pod or manual owner of an address, or what else it is', async () => {
    await e.apply(vipObject('who-vip', { subnet: 'ovn-default' }));
    const v = await e.waitVip('who-vip', (x) => x.status?.ready === true);
    await e.apply(podObject('default', 'who-pod'));
    const podIp = ipOf(await e.waitPod('default', 'who-pod', (p) => !!ipOf(p)));
    const manual = await e.allocator.allocate({ subnet: 'ovn-default', owner: 'team-db' });

    expect(await ok(['who', v.status!.v4ip!])).toBe(
      `${v.status!.v4ip}  subnet ovn-default  Vip who-vip  mac ${v.status!.mac}\n`,
    );
    expect(await ok(['who', podIp])).toContain(`${podIp}  subnet ovn-default  pod who-pod.default  mac`);
    expect(await ok(['who', manual.v4!])).toContain(
      `subnet ovn-default  manual owner team-db  mac ${manual.mac}`,
    );
    expect(await ok(['who', '10.16.0.1'])).toBe('10.16.0.1  subnet ovn-default  the gateway\n');
    expect(await ok(['who', '10.16.250.250'])).toBe('10.16.250.250  subnet ovn-default  free\n');
    const json = JSON.parse(await ok(['who', v.status!.v4ip!, '-o', 'json']));
    expect(json.uses[0]).toMatchObject({
      subnet: 'ovn-default',
      state: 'held',
      holder: { state: 'vip', name: 'who-vip' },
    });

    const outside = await vip(['who', '192.168.7.7']);
    expect(outside.code).toBe(1);
    expect(outside.stdout).toContain('in no subnet');
    const bad = await vip(['who', 'not-an-ip']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not-an-ip" is not an IP address');
  }, 60_000);

  it('usage: used / available / excluded as the Subnet status counts them', async () => {
    const counts = await e.allocator.counts('ovn-default');
    const out = await ok(['usage', 'ovn-default']);
    const [header, row] = out.trim().split('\n');
    expect(header).toMatch(/^SUBNET\s+FAMILY\s+CIDR\s+USED\s+AVAILABLE\s+EXCLUDED\s+USING$/);
    expect(row!.split(/\s+/).slice(0, 6)).toEqual([
      'ovn-default',
      'IPv4',
      '10.16.0.0/16',
      String(counts.v4UsingIPs),
      String(counts.v4AvailableIPs),
      '1', // the gateway
    ]);
    // and the Subnet's own status says the same (written coalesced after changes)
    await waitFor(
      'Subnet status to match',
      async () => {
        const s = (await e.kube.getSubnet('ovn-default'))?.status as Record<string, number> | undefined;
        return s?.v4usingIPs === counts.v4UsingIPs && s?.v4availableIPs === counts.v4AvailableIPs;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const missing = await vip(['usage', 'no-such-subnet']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('subnet no-such-subnet not found');
    expect(
      JSON.parse(await ok(['usage', '-o', 'json'])).subnets.map((s: { name: string }) => s.name),
    ).toContain('ovn-default');
  }, 60_000);

  it('holders: AAP Vips with the parents OVN has and the live holder', async () => {
    await e.apply(
      vipObject('hold-vip', { subnet: 'ovn-default', namespace: 'default', selector: ['app: hold'] }),
    );
    const asks = { 'ovn.kubernetes.io/aaps': 'hold-vip' };
    await e.apply(podObject('default', 'hold-b', { labels: { app: 'hold' }, annotations: asks }));
    await e.apply(podObject('default', 'hold-a', { labels: { app: 'hold' }, annotations: asks }));
    await expect
      .poll(async () => (await e.portOptions('hold-vip'))?.['virtual-parents'], {
        timeout: 15_000,
        interval: 100,
      })
      .toBe('hold-a.default,hold-b.default');
    const address = (await e.waitVip('hold-vip', (v) => !!v.status?.v4ip)).status!.v4ip!;
    let out = await ok(['holders']);
    expect(out.split('\n')[0]).toMatch(/^VIP\s+SUBNET\s+NAMESPACE\s+ADDRESS\s+PARENTS\s+HOLDER$/);
    const row = () =>
      out
        .split('\n')
        .find((l) => l.startsWith('hold-vip '))!
        .split(/\s+/);
    expect(row()).toEqual([
      'hold-vip',
      'ovn-default',
      'default',
      address,
      'hold-a.default,hold-b.default',
      '-',
    ]);
    // status.holder is written by the node agent from SB's Port_Binding; no dataplane here
    await e.kube.patchStatus('Vip', 'hold-vip', { holder: 'hold-b.default' });
    out = await ok(['holders']);
    expect(row()[5]).toBe('hold-b.default');
    expect(out).not.toContain('who-vip'); // not an AAP Vip
  }, 60_000);

  it('trace: the virtual ports, the load balancer and (when there is one) the SB binding', async () => {
    await e.apply(
      vipObject('trace-aap', { subnet: 'ovn-default', namespace: 'default', selector: ['app: trace'] }),
    );
    await e.apply(
      podObject('default', 'trace-p1', {
        labels: { app: 'trace' },
        annotations: { 'ovn.kubernetes.io/aaps': 'trace-aap' },
      }),
    );
    await expect
      .poll(async () => (await e.portOptions('trace-aap'))?.['virtual-parents'], {
        timeout: 15_000,
        interval: 100,
      })
      .toBe('trace-p1.default');
    const noSb = await ok(['trace', 'trace-aap']);
    expect(noSb).toMatch(/Logical_Switch_Port trace-aap {2}switch ovn-default {2}type virtual/);
    expect(noSb).toContain('virtual-parents=trace-p1.default');
    expect(noSb).toContain('no OVN Southbound to read');

    // a switch_lb_vip and its rule: the load balancer shows up by the Vip's address
    await e.apply(vipObject('trace-slr', { subnet: 'ovn-default', type: 'switch_lb_vip' }));
    const front = (await e.waitVip('trace-slr', (v) => v.status?.ready === true)).status!.v4ip!;
    await e.apply(podObject('default', 'trace-web', { labels: { app: 'trace-web' } }));
    const backend = ipOf(await e.waitPod('default', 'trace-web', (p) => !!ipOf(p)));
    await e.apply(
      switchLbRuleObject('trace-web', {
        vip: front,
        namespace: 'default',
        selector: ['app: trace-web'],
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      }),
    );
    await expect
      .poll(async () => ok(['trace', 'trace-slr']), { timeout: 15_000, interval: 200 })
      .toContain(`${front}:80 -> ${backend}:8080`);
    expect(await ok(['trace', 'trace-slr'])).toContain('Load_Balancer slr-trace-web-tcp');

    // a southbound database with the binding ovn-controller would have written
    sb = await startOvsdbServer({ schema: '/usr/share/ovn/ovn-sb.ovsschema', name: 'sb' });
    expect(await ok(['trace', 'trace-aap', '--sb', sb.remote])).toContain(
      'Port_Binding trace-aap: none yet (ovn-northd has not translated the port)',
    );
    const client = await OvsdbClient.connect({ remotes: [sb.remote], database: SB_DATABASE });
    try {
      await client.transact([
        op.insert('Datapath_Binding', { tunnel_key: 1 }, 'dp'),
        op.insert('Port_Binding', {
          logical_port: 'trace-aap',
          datapath: namedUuid('dp'),
          tunnel_key: 7,
          type: 'virtual',
          virtual_parent: 'trace-p1.default',
        }),
      ]);
    } finally {
      client.close();
    }
    const withSb = await ok(['trace', 'trace-aap', '--sb', sb.remote]);
    expect(withSb).toContain(
      'Port_Binding trace-aap  type virtual  chassis (none)  virtual_parent trace-p1.default',
    );
    expect(withSb).not.toContain('no OVN Southbound');

    const missing = await vip(['trace', 'no-such-vip']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('Vip no-such-vip not found');
  }, 90_000);

  it('audit: clean, then drift found, repaired and clean again; also from a stack file alone', async () => {
    const clean = await vip(['audit']);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    // a reservation no Vip owns: what a lost delete would leave behind
    await e.allocator.allocate({ subnet: 'ovn-default', owner: 'vip/ghost' });
    const drift = await vip(['audit']);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('leaked-reservation');
    expect(drift.stdout).toContain('ghost');
    const fixed = await vip(['audit', '--repair']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('after repair:');
    expect(await e.allocator.get('ovn-default', 'vip/ghost')).toBeUndefined();

    // no environment: everything from the file `npm start` writes
    const file = join(home, 'stack.json');
    writeFileSync(file, JSON.stringify(e.stack.describe()));
    const fromFile = await vip(['audit', '-o', 'json', '--stack', file], {});
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ clean: true });
  }, 90_000);
});
