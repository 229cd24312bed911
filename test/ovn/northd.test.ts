// Seed fidelity checked with the real tools: what ovn-nbctl shows for the seed's AAP Vip, and what
// ovn-northd makes of it in the southbound database (bind_vport flows), for one and two families.
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTempDir,
  nbctl,
  type OvsdbServer,
  startNbServer,
  startSbServer,
  stopPid,
  waitFor,
} from '../../infra/local/services.ts';
import { NorthboundWriter } from '../../shared/ovn/nb/index.ts';
import { vipHolder } from '../../shared/ovn/sb/virtual-parent.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const run = promisify(execFile);
const sbctl = async (sb: OvsdbServer, ...args: string[]) =>
  (await run('ovn-sbctl', [`--db=${sb.remote}`, '--timeout=10', ...args])).stdout;

describe('NB rows as OVN tools and ovn-northd see them', () => {
  let nbServer: OvsdbServer;
  let sbServer: OvsdbServer;
  let northdPid: number;
  let northdDir: string | undefined;
  let client: OvsdbClient;
  let nb: NorthboundWriter;

  beforeAll(async () => {
    [nbServer, sbServer] = await Promise.all([startNbServer(), startSbServer()]);
    const dir = makeTempDir('vipres-northd-');
    northdDir = dir;
    const northd = spawn(
      'ovn-northd',
      [
        `--ovnnb-db=${nbServer.remote}`,
        `--ovnsb-db=${sbServer.remote}`,
        `--pidfile=${join(dir, 'northd.pid')}`,
        `--log-file=${join(dir, 'northd.log')}`,
        `--unixctl=${join(dir, 'northd.ctl')}`,
      ],
      { stdio: 'ignore' },
    );
    northdPid = northd.pid!;
    client = await OvsdbClient.connect({ remotes: [nbServer.remote], database: 'OVN_Northbound' });
    nb = new NorthboundWriter(client);
  });

  afterAll(async () => {
    client?.close();
    if (northdPid) await stopPid(northdPid);
    await Promise.all([nbServer?.stop(), sbServer?.stop()]);
    if (northdDir) rmSync(northdDir, { recursive: true, force: true });
  });

  const bindVportFlows = async (ls: string) =>
    (await sbctl(sbServer, 'lflow-list', ls)).split('\n').filter((l) => l.includes('bind_vport'));

  it("the seed's AAP Vip: nbctl shows a virtual port with the seed's columns and northd binds it to the parent", async () => {
    await nb.ensureLogicalSwitch({
      name: 'ovn-default',
      cidrBlock: '10.16.0.0/16',
      excludeIps: ['10.16.0.1'],
      gateway: '10.16.0.1',
    });
    await nb.ensurePort({
      switchName: 'ovn-default',
      name: 'busybox.default',
      mac: '00:00:00:1a:2b:3c',
      ips: ['10.16.0.5'],
      pod: 'busybox',
      namespace: 'default',
    });
    await nb.ensureVipPorts({
      switchName: 'ovn-default',
      vipName: 'vip-aap',
      v4ip: '10.16.0.100',
      parents: ['busybox.default'],
    });

    const show = await nbctl(nbServer.remote, 'show', 'ovn-default');
    expect(show).toMatch(/port vip-aap\n\s+type: virtual\n/);
    expect(show).toMatch(/port busybox\.default\n\s+addresses: \["00:00:00:1a:2b:3c 10\.16\.0\.5"\]/);

    const list = await nbctl(nbServer.remote, 'list', 'logical_switch_port', 'vip-aap');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(list)?.[1];
    expect(field('options')).toBe('{virtual-ip="10.16.0.100", virtual-parents=busybox.default}');
    expect(field('external_ids')).toBe('{ls=ovn-default, vendor=kube-ovn}');
    expect(field('type')).toBe('virtual');
    expect(field('addresses')).toBe('[]');

    const flows = await waitFor('bind_vport flow for vip-aap', async () => {
      const f = await bindVportFlows('ovn-default');
      return f.length > 0 ? f : undefined;
    });
    expect(flows.join('\n')).toContain('inport == "busybox.default"');
    expect(flows.join('\n')).toContain('bind_vport("vip-aap", inport)');
    expect(flows.join('\n')).toContain('arp.spa == 10.16.0.100');

    // status.holder comes from SB Port_Binding.virtual_parent, which ovn-controller sets when a
    // parent claims the address; without a dataplane here we set it as ovn-controller would.
    const sb = await OvsdbClient.connect({ remotes: [sbServer.remote], database: 'OVN_Southbound' });
    try {
      await waitFor(
        'port binding',
        async () => (await sbctl(sbServer, 'find', 'Port_Binding', 'logical_port=vip-aap')).length > 0,
      );
      expect(await vipHolder(sb, 'vip-aap')).toBe('');
      await sbctl(sbServer, 'set', 'Port_Binding', 'vip-aap', 'virtual_parent=busybox.default');
      expect(await vipHolder(sb, 'vip-aap')).toBe('busybox.default');
    } finally {
      sb.close();
    }
  });

  it('a dual-stack Vip: one virtual port per family gets ARP and ND bind_vport flows; one port with both gets none', async () => {
    await nb.ensureLogicalSwitch({
      name: 'dual',
      cidrBlock: '10.18.0.0/16,fd00:18::/64',
      gateway: '10.18.0.1,fd00:18::1',
    });
    await nb.ensurePort({
      switchName: 'dual',
      name: 'app.default',
      mac: '00:00:00:1a:2b:3d',
      ips: ['10.18.0.5', 'fd00:18::5'],
      pod: 'app',
      namespace: 'default',
    });
    await nb.ensureVipPorts({
      switchName: 'dual',
      vipName: 'vip-dual',
      v4ip: '10.18.0.100',
      v6ip: 'fd00:18::100',
      parents: ['app.default'],
    });
    // The alternative we rejected: both addresses in one virtual-ip.
    await nb.ensureVirtualPort({
      switchName: 'dual',
      name: 'vip-both',
      virtualIp: '10.18.0.101,fd00:18::101',
      parents: ['app.default'],
    });

    const flows = await waitFor('ARP and ND bind_vport flows', async () => {
      const f = (await bindVportFlows('dual')).join('\n');
      return f.includes('"vip-dual"') && f.includes('"vip-dual_v6"') ? f : undefined;
    });
    const v4 = flows.split('\n').filter((l) => l.includes('bind_vport("vip-dual", inport)'));
    const v6 = flows.split('\n').filter((l) => l.includes('bind_vport("vip-dual_v6", inport)'));
    expect(v4.join('\n')).toMatch(/arp\.spa == 10\.18\.0\.100/);
    expect(v6.join('\n')).toMatch(/nd\.target == fd00:18::100/);
    expect(v6.join('\n')).toContain('inport == "app.default"');
    expect(flows).not.toContain('vip-both');
  });
});
