// NorthboundWriter against the run's real NB ovsdb-server, checked with ovn-nbctl where it matters.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { isDomainError } from '../../shared/domain/errors.ts';
import { connectNorthbound, NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

describe('NorthboundWriter', () => {
  let client: OvsdbClient;
  let nb: NorthboundWriter;
  beforeAll(async () => {
    client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
    nb = new NorthboundWriter(client);
  });
  afterAll(() => client.close());

  it('creates a subnet switch once, with other_config subnet / exclude_ips / gateway, and updates it in place', async () => {
    const name = unique('ls');
    const spec = { name, cidrBlock: '10.16.0.0/16', excludeIps: ['10.16.0.1'], gateway: '10.16.0.1' };
    const a = await nb.ensureLogicalSwitch(spec);
    const b = await nb.ensureLogicalSwitch(spec);
    expect(b.uuid).toBe(a.uuid);
    expect(a.otherConfig).toEqual({ subnet: '10.16.0.0/16', exclude_ips: '10.16.0.1', gateway: '10.16.0.1' });
    expect(
      (await nbctl(remote, '--bare', '--columns=_uuid', 'find', 'Logical_Switch', `name=${name}`)).trim(),
    ).toBe(a.uuid);
    const c = await nb.ensureLogicalSwitch({ ...spec, excludeIps: ['10.16.0.1', '10.16.0.2..10.16.0.9'] });
    expect(c.uuid).toBe(a.uuid);
    expect(await nbctl(remote, 'get', 'Logical_Switch', name, 'other_config:exclude_ips')).toContain(
      '10.16.0.1 10.16.0.2..10.16.0.9',
    );
    const dual = await nb.ensureLogicalSwitch({
      name: unique('dual'),
      cidrBlock: '10.17.0.0/16,fd00:10:17::/64',
    });
    expect(dual.otherConfig).toMatchObject({ subnet: '10.17.0.0/16', ipv6_prefix: 'fd00:10:17::' });
  });

  it('creates a pod port referenced by its switch; repeating changes nothing; a change updates the same row', async () => {
    const ls = unique('ls');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.20.0.0/16' });
    const input = {
      switchName: ls,
      name: 'web.default',
      mac: '00:00:00:aa:bb:01',
      ips: ['10.20.0.5'],
      pod: 'web',
      namespace: 'default',
    };
    const name = unique('web');
    const p1 = await nb.ensurePort({ ...input, name });
    const p2 = await nb.ensurePort({ ...input, name });
    expect(p2.uuid).toBe(p1.uuid);
    expect(p1.addresses).toEqual(['00:00:00:aa:bb:01 10.20.0.5']);
    expect(p1.externalIds).toEqual({ ls, vendor: 'kube-ovn', pod: 'default/web' });
    expect(await nbctl(remote, 'lsp-list', ls)).toContain(`(${name})`);
    const p3 = await nb.ensurePort({ ...input, name, ips: ['10.20.0.5', 'fd00::5'] });
    expect(p3.uuid).toBe(p1.uuid);
    expect((await nbctl(remote, 'lsp-get-addresses', name)).trim()).toBe(
      '00:00:00:aa:bb:01 10.20.0.5 fd00::5',
    );
    expect((await nb.listPorts({ switchName: ls })).map((p) => p.name)).toEqual([name]);
    expect(await nb.getPort(name)).toMatchObject({ uuid: p1.uuid, type: '' });
  });

  it('moves a port to another switch when its subnet changes', async () => {
    const [a, b] = [unique('lsa'), unique('lsb')];
    await nb.ensureLogicalSwitch({ name: a, cidrBlock: '10.21.0.0/16' });
    await nb.ensureLogicalSwitch({ name: b, cidrBlock: '10.22.0.0/16' });
    const name = unique('mv');
    const base = { name, mac: '00:00:00:aa:bb:02', pod: 'mv', namespace: 'ns' };
    const p = await nb.ensurePort({ ...base, switchName: a, ips: ['10.21.0.5'] });
    const q = await nb.ensurePort({ ...base, switchName: b, ips: ['10.22.0.5'] });
    expect(q.uuid).toBe(p.uuid);
    expect(await nbctl(remote, 'lsp-list', a)).not.toContain(name);
    expect(await nbctl(remote, 'lsp-list', b)).toContain(name);
  });

  it('refuses a port for a switch that does not exist, leaving no row behind', async () => {
    const name = unique('orphan');
    const err = await nb
      .ensurePort({
        switchName: unique('missing'),
        name,
        mac: '00:00:00:00:00:09',
        ips: ['10.0.0.9'],
        pod: 'x',
        namespace: 'y',
      })
      .catch((e) => e);
    expect(isDomainError(err) && err.reason).toBe('SubnetNotReady');
    expect(await nb.getPort(name)).toBeUndefined();
  });

  it('writes a virtual port with parents, rewrites and clears parents, and deletes idempotently', async () => {
    const ls = unique('ls');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.23.0.0/16' });
    const vip = unique('vip');
    const port = await nb.ensureVirtualPort({
      switchName: ls,
      name: vip,
      virtualIp: '10.23.0.100',
      parents: ['b.ns', 'a.ns', 'a.ns'],
    });
    expect(port).toMatchObject({ type: 'virtual', addresses: [], externalIds: { ls, vendor: 'kube-ovn' } });
    expect(port.options).toEqual({ 'virtual-ip': '10.23.0.100', 'virtual-parents': 'a.ns,b.ns' });
    const spec = { switchName: ls, name: vip, virtualIp: '10.23.0.100' };
    await nb.ensureVirtualPort({ ...spec, parents: ['c.ns'] });
    expect((await nb.getPort(vip))?.options['virtual-parents']).toBe('c.ns');
    await nb.changeVirtualParents([{ name: vip, virtualIp: '10.23.0.100' }], {
      add: 'a.ns',
      remove: ['c.ns'],
    });
    expect((await nb.getPort(vip))?.options['virtual-parents']).toBe('a.ns');
    await nb.ensureVirtualPort({ ...spec, parents: [] });
    expect((await nb.getPort(vip))?.options).toEqual({ 'virtual-ip': '10.23.0.100' });
    expect(await nb.deletePort(vip)).toBe(true);
    expect(await nb.deletePort(vip)).toBe(false);
    expect(await nbctl(remote, 'lsp-list', ls)).toBe('');
  });

  it('writes both virtual ports of a dual-stack Vip in one go and deletes both', async () => {
    const ls = unique('ls');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.24.0.0/16,fd00:24::/64' });
    const vip = unique('vip');
    const ports = await nb.ensureVipPorts({
      switchName: ls,
      vipName: vip,
      v4ip: '10.24.0.100',
      v6ip: 'fd00:24::100',
      parents: ['p.ns'],
    });
    expect(ports.map((p) => [p.name, p.options['virtual-ip']])).toEqual([
      [vip, '10.24.0.100'],
      [`${vip}_v6`, 'fd00:24::100'],
    ]);
    const again = await nb.ensureVipPorts({
      switchName: ls,
      vipName: vip,
      v4ip: '10.24.0.100',
      v6ip: 'fd00:24::100',
      parents: ['p.ns'],
    });
    expect(again.map((p) => p.uuid)).toEqual(ports.map((p) => p.uuid));
    expect(await nb.deleteVipPorts(vip)).toBe(2);
    expect(await nbctl(remote, 'lsp-list', ls)).toBe('');
  });

  it('connectNorthbound gives a writer with a port cache that sees what others write', async () => {
    const north = await connectNorthbound({ remotes: `${remote}`, leaderOnly: true });
    try {
      const ls = unique('ls');
      await north.writer.ensureLogicalSwitch({ name: ls, cidrBlock: '10.26.0.0/16' });
      const name = unique('p');
      await nbctl(
        remote,
        'lsp-add',
        ls,
        name,
        '--',
        'lsp-set-addresses',
        name,
        '00:00:00:00:00:26 10.26.0.6',
      );
      // The cache learns the port from its monitor; ensurePort then updates that row in place.
      await expect
        .poll(async () => (await north.writer.getPort(name))?.addresses)
        .toEqual(['00:00:00:00:00:26 10.26.0.6']);
      const before = (await north.writer.getPort(name))!.uuid;
      const after = await north.writer.ensurePort({
        switchName: ls,
        name,
        mac: '00:00:00:00:00:26',
        ips: ['10.26.0.7'],
        pod: 'p',
        namespace: 'n',
      });
      expect(after.uuid).toBe(before);
      expect((await nbctl(remote, 'lsp-get-addresses', name)).trim()).toBe('00:00:00:00:00:26 10.26.0.7');
    } finally {
      await north.close();
    }
  });

  it("keeps arp_proxy of the switch's router port equal to the computed front ends, other options untouched", async () => {
    const name = unique('ls');
    await nb.ensureLogicalSwitch({ name, cidrBlock: '10.30.0.0/16', gateway: '10.30.0.1' });
    const rp = `${name}-rtr`;
    await nbctl(
      remote,
      'lsp-add',
      name,
      rp,
      '--',
      'lsp-set-type',
      rp,
      'router',
      '--',
      'lsp-set-options',
      rp,
      'router-port=lrp-x',
    );
    let want = ['10.30.0.200', '10.30.0.30'];
    let calls = 0;
    await nb.refreshArpProxy(name, async () => {
      calls++;
      return want;
    });
    // A pass that wrote is followed by one that computes again and finds nothing to change.
    expect(calls).toBe(2);
    expect((await nbctl(remote, 'get', 'Logical_Switch_Port', rp, 'options')).trim()).toBe(
      '{arp_proxy="10.30.0.200 10.30.0.30", router-port=lrp-x}',
    );
    want = [];
    await nb.refreshArpProxy(name, async () => want);
    expect((await nbctl(remote, 'get', 'Logical_Switch_Port', rp, 'options')).trim()).toBe(
      '{router-port=lrp-x}',
    );
  });

  it('creates a load balancer attached to its switch, updates back ends in place, deletes it', async () => {
    const ls = unique('ls');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.25.0.0/16' });
    const name = unique('slr');
    const spec = {
      name,
      switchName: ls,
      protocol: 'tcp' as const,
      vips: { '10.25.0.10:80': ['10.25.0.20:8080', '10.25.0.21:8080'] },
    };
    const lb = await nb.ensureLoadBalancer(spec);
    expect((await nb.ensureLoadBalancer(spec)).uuid).toBe(lb.uuid);
    expect(lb.vips).toEqual({ '10.25.0.10:80': '10.25.0.20:8080,10.25.0.21:8080' });
    expect(await nbctl(remote, 'ls-lb-list', ls)).toContain(name);
    const lb2 = await nb.ensureLoadBalancer({ ...spec, vips: { '10.25.0.10:80': ['10.25.0.22:8080'] } });
    expect(lb2.uuid).toBe(lb.uuid);
    expect(await nbctl(remote, 'lb-list', name)).toContain('10.25.0.22:8080');
    expect((await nb.listLoadBalancers()).filter((l) => l.name === name)).toHaveLength(1);
    expect(await nb.deleteLoadBalancer(name)).toBe(true);
    expect(await nb.deleteLoadBalancer(name)).toBe(false);
    expect(await nbctl(remote, 'ls-lb-list', ls)).toBe('');
  });

  it('writes health checks with the balancer in one transaction, replaces them when they change, drops them when off', async () => {
    const ls = unique('ls');
    const name = unique('lb');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.26.0.0/16' });
    const check = (vip: string) => ({
      vip,
      options: { interval: '5', timeout: '20', success_count: '3', failure_count: '3' },
      externalIds: { switch_lb_subnet: ls },
    });
    const spec = {
      name,
      switchName: ls,
      protocol: 'tcp' as const,
      vips: { '10.26.0.10:80': ['10.26.0.20:8080', '10.26.0.21:8080'] },
      healthChecks: [check('10.26.0.10:80')],
      ipPortMappings: { '10.26.0.20': 'a.default:10.26.0.2', '10.26.0.21': 'b.default:10.26.0.2' },
    };
    const checksOf = async () =>
      (
        await nbctl(
          remote,
          '--bare',
          '--columns=vip',
          'find',
          'load_balancer_health_check',
          `external_ids:switch_lb_subnet=${ls}`,
        )
      )
        .split('\n')
        .filter(Boolean)
        .sort();
    const lb = await nb.ensureLoadBalancer(spec);
    expect(lb.healthChecks).toHaveLength(1);
    expect(lb.ipPortMappings).toEqual(spec.ipPortMappings);
    expect(await checksOf()).toEqual(['10.26.0.10:80']);
    expect(
      (await nbctl(remote, 'get', 'load_balancer_health_check', lb.healthChecks[0]!, 'options')).trim(),
    ).toBe('{failure_count="3", interval="5", success_count="3", timeout="20"}');
    // Unchanged: nothing rewritten (same check row).
    expect((await nb.ensureLoadBalancer(spec)).healthChecks).toEqual(lb.healthChecks);
    // A second front end: two checks, the old row collected (not left behind).
    const more = {
      ...spec,
      vips: { ...spec.vips, '10.26.0.10:81': ['10.26.0.20:8081'] },
      healthChecks: [check('10.26.0.10:80'), check('10.26.0.10:81')],
    };
    const lb2 = await nb.ensureLoadBalancer(more);
    expect(lb2.uuid).toBe(lb.uuid);
    expect(await checksOf()).toEqual(['10.26.0.10:80', '10.26.0.10:81']);
    // Off (kube-ovn's annotation): no checks and no mappings left.
    const off = await nb.ensureLoadBalancer({ ...more, healthChecks: [], ipPortMappings: {} });
    expect(off.healthChecks).toEqual([]);
    expect(off.ipPortMappings).toEqual({});
    expect(await checksOf()).toEqual([]);
    expect(await nb.deleteLoadBalancer(name)).toBe(true);
  });

  it('with a port cache, a new port is one transaction; a port the cache has not seen is updated after the refused insert', async () => {
    const ls = unique('ls');
    await nb.ensureLogicalSwitch({ name: ls, cidrBlock: '10.21.0.0/16' });
    const cacheClient = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
    try {
      const portCache = await PortCache.start(cacheClient);
      // Every transaction the cached writer sends, by its first operation (select = a read).
      const sent: string[] = [];
      const counting = {
        transact: (ops: Parameters<OvsdbClient['transact']>[0]) => {
          sent.push(ops.map((o) => o.op).join(','));
          return cacheClient.transact(ops);
        },
      };
      const cached = new NorthboundWriter(counting, { portCache });
      const input = {
        switchName: ls,
        mac: '00:00:00:aa:bb:02',
        ips: ['10.21.0.5'],
        pod: 'p',
        namespace: 'n',
      };
      const fresh = unique('fresh');
      await cached.ensurePort({ ...input, name: fresh });
      expect(sent).toHaveLength(1);
      expect(sent[0]).not.toContain('select');

      // Another writer creates a port this cache has not heard of yet, with other addresses.
      const known = unique('known');
      await nb.ensurePort({ ...input, name: known, mac: '00:00:00:aa:bb:03', ips: ['10.21.0.6'] });
      sent.length = 0;
      const updated = await cached.ensurePort({ ...input, name: known });
      expect(updated.addresses).toEqual(['00:00:00:aa:bb:02 10.21.0.5']);
      expect(await nbctl(remote, 'get', 'Logical_Switch_Port', known, 'addresses')).toContain('10.21.0.5');
      expect(
        (
          await nbctl(remote, '--bare', '--columns=name', 'find', 'Logical_Switch_Port', `name=${known}`)
        ).trim(),
      ).toBe(known);
    } finally {
      cacheClient.close();
    }
  });
});
