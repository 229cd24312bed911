import { describe, expect, it } from 'vitest';
import { operationToJson } from '../../../ovsdb/protocol.ts';
import type { LogicalSwitchPort } from '../model.ts';
import {
  createLoadBalancerOps,
  lbVips,
  sameHealthChecks,
  selectHealthChecks,
  updateLoadBalancerOps,
} from './load-balancer.ts';
import { switchOtherConfig, updateSwitchOps } from './logical-switch.ts';
import {
  createPortOps,
  createPortsOps,
  deletePortOps,
  deletePortsOps,
  extraSecurityAddresses,
  ownAddresses,
  parentsOf,
  podPortSpec,
  setPortSecurityOps,
  updatePortOps,
  vipVirtualPortInputs,
  virtualPortSpec,
  withParents,
} from './logical-switch-port.ts';

const json = (ops: ReturnType<typeof createPortOps>) => ops.map(operationToJson);

describe('NB operations (pure)', () => {
  it('writes kube-ovn switch other_config per family', () => {
    expect(
      switchOtherConfig({
        name: 's',
        cidrBlock: '10.16.0.0/16',
        excludeIps: ['10.16.0.1'],
        gateway: '10.16.0.1',
      }),
    ).toEqual({
      subnet: '10.16.0.0/16',
      exclude_ips: '10.16.0.1',
      gateway: '10.16.0.1',
    });
    expect(switchOtherConfig({ name: 's', cidrBlock: 'fd00::/64', excludeIps: ['fd00::1'] })).toEqual({
      ipv6_prefix: 'fd00::',
    });
  });

  it('keeps keys others set on a switch and guards the update with the values read', () => {
    const current = {
      uuid: 'u',
      name: 's',
      otherConfig: { mcast_snoop: 'true' },
      externalIds: { vendor: 'kube-ovn' },
      loadBalancers: [],
    };
    const ops = json(updateSwitchOps(current, { name: 's', cidrBlock: '10.1.0.0/16' }));
    expect(ops[0]).toMatchObject({
      op: 'wait',
      until: '==',
      rows: [{ other_config: ['map', [['mcast_snoop', 'true']]] }],
    });
    expect(ops[1]).toMatchObject({
      op: 'update',
      row: {
        other_config: [
          'map',
          [
            ['mcast_snoop', 'true'],
            ['subnet', '10.1.0.0/16'],
          ],
        ],
      },
    });
    expect(
      updateSwitchOps(
        { ...current, otherConfig: { mcast_snoop: 'true', subnet: '10.1.0.0/16' } },
        { name: 's', cidrBlock: '10.1.0.0/16' },
      ),
    ).toEqual([]);
  });

  it('builds a pod port and inserts it referenced from its switch in the same transaction', () => {
    const spec = podPortSpec({
      switchName: 'ovn-default',
      name: 'web.ns',
      mac: '00:00:00:00:00:01',
      ips: ['10.16.0.5', 'fd00::5'],
      pod: 'web',
      namespace: 'ns',
    });
    expect(spec.addresses).toEqual(['00:00:00:00:00:01 10.16.0.5 fd00::5']);
    const ops = json(createPortOps(spec, 'p'));
    expect(ops.map((o) => o.op)).toEqual(['insert', 'mutate']);
    expect(ops[0]).toMatchObject({ 'uuid-name': 'p', row: { name: 'web.ns' } });
    expect(ops[1]).toMatchObject({
      table: 'Logical_Switch',
      where: [['name', '==', 'ovn-default']],
      mutations: [['ports', 'insert', ['set', [['named-uuid', 'p']]]]],
    });
  });

  it('inserts several ports of one switch and adds them all with one mutate of its ports', () => {
    const specs = ['a.ns', 'b.ns', 'c.ns'].map((name, i) =>
      podPortSpec({
        switchName: 'sw',
        name,
        mac: '00:00:00:00:00:01',
        ips: [`10.16.0.${i + 5}`],
        pod: name,
        namespace: 'ns',
      }),
    );
    const ops = json(createPortsOps('sw', specs, 'q'));
    expect(ops.map((o) => o.op)).toEqual(['insert', 'insert', 'insert', 'mutate']);
    expect(ops.slice(0, 3).map((o) => [o['uuid-name'], (o.row as { name: string }).name])).toEqual([
      ['q0', 'a.ns'],
      ['q1', 'b.ns'],
      ['q2', 'c.ns'],
    ]);
    expect(ops[3]).toMatchObject({
      table: 'Logical_Switch',
      where: [['name', '==', 'sw']],
      mutations: [
        [
          'ports',
          'insert',
          [
            'set',
            [
              ['named-uuid', 'q0'],
              ['named-uuid', 'q1'],
              ['named-uuid', 'q2'],
            ],
          ],
        ],
      ],
    });
  });

  it('deletes several ports with one mutate per switch their ls names, then each row', () => {
    const ops = json(
      deletePortsOps([
        { uuid: 'u1', switchName: 'a' },
        { uuid: 'u2', switchName: 'b' },
        { uuid: 'u3', switchName: 'a' },
      ]),
    );
    expect(ops.map((o) => o.op)).toEqual(['mutate', 'mutate', 'delete', 'delete', 'delete']);
    expect(ops[0]).toMatchObject({
      table: 'Logical_Switch',
      where: [['name', '==', 'a']],
      mutations: [
        [
          'ports',
          'delete',
          [
            'set',
            [
              ['uuid', 'u1'],
              ['uuid', 'u3'],
            ],
          ],
        ],
      ],
    });
    expect(ops[1]).toMatchObject({
      where: [['name', '==', 'b']],
      mutations: [['ports', 'delete', ['set', [['uuid', 'u2']]]]],
    });
    expect(ops.slice(2).map((o) => o.where)).toEqual([
      [['_uuid', '==', ['uuid', 'u1']]],
      [['_uuid', '==', ['uuid', 'u2']]],
      [['_uuid', '==', ['uuid', 'u3']]],
    ]);
  });

  it('writes parents sorted and deduplicated, and drops the key when there are none', () => {
    expect(withParents({ 'virtual-ip': '1.1.1.1' }, ['b', ' a', 'b', ''])).toEqual({
      'virtual-ip': '1.1.1.1',
      'virtual-parents': 'a,b',
    });
    expect(withParents({ 'virtual-ip': '1.1.1.1', 'virtual-parents': 'a' }, [])).toEqual({
      'virtual-ip': '1.1.1.1',
    });
    const port = virtualPortSpec({ switchName: 's', name: 'v', virtualIp: '1.1.1.1', parents: ['x.ns'] });
    expect(port).toMatchObject({
      type: 'virtual',
      addresses: [],
      externalIds: { ls: 's', vendor: 'kube-ovn' },
    });
    // Without parents in the input, the current port's parents are kept.
    const current = { ...port, uuid: 'u' } as LogicalSwitchPort;
    expect(parentsOf(virtualPortSpec({ switchName: 's', name: 'v', virtualIp: '1.1.1.1' }, current))).toEqual(
      ['x.ns'],
    );
  });

  it('names one virtual port per family: the Vip for v4 (or a lone v6), <vip>_v6 beside a v4', () => {
    const names = (v4?: string, v6?: string) =>
      vipVirtualPortInputs({
        switchName: 's',
        vipName: 'vip',
        ...(v4 && { v4ip: v4 }),
        ...(v6 && { v6ip: v6 }),
      }).map((p) => [p.name, p.virtualIp]);
    expect(names('10.0.0.1')).toEqual([['vip', '10.0.0.1']]);
    expect(names(undefined, 'fd00::1')).toEqual([['vip', 'fd00::1']]);
    expect(names('10.0.0.1', 'fd00::1')).toEqual([
      ['vip', '10.0.0.1'],
      ['vip_v6', 'fd00::1'],
    ]);
  });

  it('updates a port only when it differs, guarded by what was read, moving it between switches', () => {
    const spec = virtualPortSpec({ switchName: 'b', name: 'v', virtualIp: '1.1.1.1', parents: [] });
    const same = { ...spec, uuid: 'u', externalIds: { ...spec.externalIds } } as LogicalSwitchPort;
    expect(updatePortOps({ ...same, switchName: 'b' } as never, spec)).toEqual([]);
    const moved = json(updatePortOps({ ...same, externalIds: { ls: 'a', vendor: 'kube-ovn' } }, spec));
    expect(moved.map((o) => o.op)).toEqual(['wait', 'update', 'mutate', 'mutate']);
    expect(moved[2]).toMatchObject({
      where: [['ports', 'includes', ['set', [['uuid', 'u']]]]],
      mutations: [['ports', 'delete', ['set', [['uuid', 'u']]]]],
    });
    expect(json(deletePortOps('u')).map((o) => o.op)).toEqual(['mutate', 'delete']);
  });

  it('gives a pod port port security from the start, and keeps the Vip addresses it has on update', () => {
    const input = {
      switchName: 'ovn-default',
      name: 'web.ns',
      mac: '00:00:00:00:00:01',
      ips: ['10.16.0.5'],
      pod: 'web',
      namespace: 'ns',
    };
    expect(podPortSpec(input).portSecurity).toEqual(['00:00:00:00:00:01 10.16.0.5']);
    expect(podPortSpec({ ...input, extraSecurity: ['10.16.0.100'] }).portSecurity).toEqual([
      '00:00:00:00:00:01 10.16.0.5 10.16.0.100',
    ]);
    const current: LogicalSwitchPort = {
      ...podPortSpec(input),
      uuid: 'u',
      portSecurity: ['00:00:00:00:00:01 10.16.0.5 10.16.0.100 fd00::100'],
    };
    expect(ownAddresses(current)).toEqual({ mac: '00:00:00:00:00:01', ips: ['10.16.0.5'] });
    expect(extraSecurityAddresses(current)).toEqual(['10.16.0.100', 'fd00::100']);
    // A new own address replaces the old one; the parent's Vips stay (the refresh owns them).
    const moved = podPortSpec({ ...input, ips: ['10.16.0.6', 'fd00::6'] }, current);
    expect(moved.portSecurity).toEqual(['00:00:00:00:00:01 10.16.0.6 fd00::6 10.16.0.100 fd00::100']);
    expect(updatePortOps(current, podPortSpec(input, current))).toEqual([]);
    expect(ownAddresses({ addresses: ['dynamic'] })).toBeUndefined();
    // kube-ovn's own keys (its security groups') stay: only ls, vendor and pod are this system's.
    const theirs: LogicalSwitchPort = {
      ...current,
      externalIds: {
        ...current.externalIds,
        associated_sg_sg1: 'true',
        security_groups: 'sg1',
        pod: 'x/old',
      },
    };
    expect(podPortSpec(input, theirs).externalIds).toEqual({
      ls: 'ovn-default',
      vendor: 'kube-ovn',
      pod: 'ns/web',
      associated_sg_sg1: 'true',
      security_groups: 'sg1',
    });
    expect(
      virtualPortSpec(
        { switchName: 's', name: 'v', virtualIp: '10.16.0.100' },
        { ...theirs, type: 'virtual' },
      ).externalIds,
    ).toMatchObject({ ls: 's', vendor: 'kube-ovn', associated_sg_sg1: 'true' });
  });

  it('sets port security guarded by every column read, port_security included', () => {
    const current: LogicalSwitchPort = {
      uuid: 'u',
      name: 'web.ns',
      type: '',
      addresses: ['00:00:00:00:00:01 10.16.0.5'],
      options: {},
      externalIds: {},
      portSecurity: ['00:00:00:00:00:01 10.16.0.5'],
    };
    expect(setPortSecurityOps(current, ['00:00:00:00:00:01 10.16.0.5'])).toEqual([]);
    const ops = json(setPortSecurityOps(current, ['00:00:00:00:00:01 10.16.0.5 10.16.0.100']));
    expect(ops.map((o) => o.op)).toEqual(['wait', 'update']);
    expect(ops[0]).toMatchObject({
      columns: ['type', 'addresses', 'options', 'external_ids', 'port_security'],
      rows: [{ port_security: ['set', ['00:00:00:00:00:01 10.16.0.5']] }],
    });
    expect(ops[1]).toMatchObject({
      row: { port_security: ['set', ['00:00:00:00:00:01 10.16.0.5 10.16.0.100']] },
    });
  });

  it('builds load balancer vips and attaches a new balancer to its switch', () => {
    expect(lbVips({ '10.0.0.1:80': ['10.0.0.2:8080', '10.0.0.3:8080'] })).toEqual({
      '10.0.0.1:80': '10.0.0.2:8080,10.0.0.3:8080',
    });
    const spec = {
      name: 'lb',
      switchName: 's',
      protocol: 'tcp' as const,
      vips: { '10.0.0.1:80': ['10.0.0.2:8080'] },
    };
    expect(json(createLoadBalancerOps(spec)).map((o) => o.op)).toEqual(['wait', 'insert', 'mutate']);
    const current = {
      uuid: 'u',
      name: 'lb',
      vips: lbVips(spec.vips),
      protocol: 'tcp' as const,
      options: {},
      externalIds: { vendor: 'kube-ovn', ls: 's' },
      healthChecks: [],
      ipPortMappings: {},
    };
    expect(updateLoadBalancerOps(current, spec, { attached: true })).toEqual([]);
    expect(json(updateLoadBalancerOps(current, spec, { attached: false })).map((o) => o.op)).toEqual([
      'mutate',
    ]);
  });

  it('health checks: inserted with a new balancer and referenced by it, replaced as a whole when they change', () => {
    const check = (vip: string) => ({
      vip,
      options: { interval: '5', timeout: '20', success_count: '3', failure_count: '3' },
      externalIds: { switch_lb_subnet: 's' },
    });
    const spec = {
      name: 'lb',
      switchName: 's',
      protocol: 'tcp' as const,
      vips: { '10.0.0.1:80': ['10.0.0.2:8080'] },
      healthChecks: [check('10.0.0.1:80')],
      ipPortMappings: { '10.0.0.2': 'p.default:10.0.0.9' },
    };
    const created = json(createLoadBalancerOps(spec));
    expect(created.map((o) => `${o.op} ${o.table ?? ''}`)).toEqual([
      'wait Load_Balancer',
      'insert Load_Balancer_Health_Check',
      'insert Load_Balancer',
      'mutate Logical_Switch',
    ]);
    expect(created[1]).toMatchObject({
      'uuid-name': 'new_lb_hc0',
      row: {
        vip: '10.0.0.1:80',
        options: [
          'map',
          expect.arrayContaining([
            ['interval', '5'],
            ['failure_count', '3'],
          ]),
        ],
        external_ids: ['map', [['switch_lb_subnet', 's']]],
      },
    });
    expect(created[2]).toMatchObject({
      row: {
        health_check: ['set', [['named-uuid', 'new_lb_hc0']]],
        ip_port_mappings: ['map', [['10.0.0.2', 'p.default:10.0.0.9']]],
      },
    });

    const current = {
      uuid: '8d9e0f6a-0000-4000-8000-000000000001',
      name: 'lb',
      vips: lbVips(spec.vips),
      protocol: 'tcp' as const,
      options: {},
      externalIds: { vendor: 'kube-ovn', ls: 's' },
      healthChecks: ['8d9e0f6a-0000-4000-8000-0000000000c1'],
      ipPortMappings: { '10.0.0.2': 'p.default:10.0.0.9' },
    };
    const read = [{ uuid: current.healthChecks[0]!, ...check('10.0.0.1:80') }];
    expect(sameHealthChecks(read, spec.healthChecks)).toBe(true);
    expect(updateLoadBalancerOps(current, spec, { attached: true, checks: read })).toEqual([]);
    // A new front end: the guard holds the checks read; new rows; the balancer points at them.
    const more = { ...spec, vips: { ...spec.vips, '10.0.0.1:81': ['10.0.0.2:8081'] } };
    more.healthChecks = [check('10.0.0.1:80'), check('10.0.0.1:81')];
    const changed = json(updateLoadBalancerOps(current, more, { attached: true, checks: read }));
    expect(changed.map((o) => `${o.op} ${o.table}`)).toEqual([
      'wait Load_Balancer',
      'insert Load_Balancer_Health_Check',
      'insert Load_Balancer_Health_Check',
      'update Load_Balancer',
    ]);
    expect(changed[0]).toMatchObject({
      rows: [{ health_check: ['set', [['uuid', current.healthChecks[0]]]] }],
    });
    expect((changed[3] as { row: { health_check: unknown } }).row.health_check).toEqual([
      'set',
      [
        ['named-uuid', 'lb_8d9e0f6a_0000_4000_8000_000000000001_hc0'],
        ['named-uuid', 'lb_8d9e0f6a_0000_4000_8000_000000000001_hc1'],
      ],
    ]);
    // Checks turned off: the balancer references none (the server collects the old row).
    const off = json(
      updateLoadBalancerOps(
        current,
        { ...spec, healthChecks: [], ipPortMappings: {} },
        { attached: true, checks: read },
      ),
    );
    expect(off.at(-1)).toMatchObject({
      op: 'update',
      row: { health_check: ['set', []], ip_port_mappings: ['map', []] },
    });
    expect(json(selectHealthChecks(current.healthChecks))).toEqual([
      expect.objectContaining({ op: 'select', table: 'Load_Balancer_Health_Check' }),
    ]);
  });
});
