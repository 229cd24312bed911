import { describe, expect, it } from 'vitest';
import type { Pod, SubnetResource, SwitchLBRule, Vip } from '../domain/types.ts';
import type { Reservation, SubnetInfo } from '../ipam/index.ts';
import type { LoadBalancer, LogicalSwitchPort } from '../ovn/nb/index.ts';
import { compareState } from './compare.ts';
import { DriftKind, type ObservedState } from './types.ts';

const SUBNET = 'ovn-default';
const subnet: SubnetResource = {
  metadata: { name: SUBNET },
  spec: { cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', default: true },
};

const vip = (
  name: string,
  o: {
    v4?: string;
    mac?: string;
    namespace?: string;
    type?: string;
    reservedBy?: string;
    ready?: boolean;
  } = {},
): Vip => ({
  metadata: {
    name,
    labels: { 'ovn.kubernetes.io/subnet': SUBNET, 'ovn.kubernetes.io/ip_reserved': o.reservedBy ?? '' },
  },
  spec: {
    subnet: SUBNET,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.type ? { type: o.type } : {}),
  },
  status: {
    ready: o.ready ?? true,
    v4ip: o.v4 ?? '10.16.0.10',
    mac: o.mac ?? '00:00:00:AA:00:10',
    type: o.type ?? '',
  },
});

const pod = (
  name: string,
  o: {
    ip?: string;
    mac?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    allocated?: boolean;
  } = {},
): Pod => ({
  metadata: {
    name,
    namespace: 'default',
    ...(o.labels ? { labels: o.labels } : {}),
    annotations: {
      ...(o.allocated === false
        ? {}
        : {
            'ovn.kubernetes.io/allocated': 'true',
            'ovn.kubernetes.io/ip_address': o.ip ?? '10.16.0.20',
            'ovn.kubernetes.io/mac_address': o.mac ?? '00:00:00:bb:00:20',
            'ovn.kubernetes.io/logical_switch': SUBNET,
          }),
      ...o.annotations,
    },
  },
  status: { phase: 'Running' },
});

const res = (owner: string, v4: string, mac: string): Reservation => ({ subnet: SUBNET, owner, v4, mac });

const podPort = (
  name: string,
  addresses: string,
  podRef = `default/${name.split('.')[0]}`,
): LogicalSwitchPort =>
  // Cast: the row model grows columns (port_security) the audit does not read.
  ({
    uuid: `u-${name}`,
    name,
    type: '',
    addresses: [addresses],
    portSecurity: [],
    options: {},
    externalIds: { ls: SUBNET, vendor: 'kube-ovn', pod: podRef },
  }) as LogicalSwitchPort;

const virtualPort = (name: string, ip: string, parents?: string): LogicalSwitchPort =>
  ({
    uuid: `u-${name}`,
    name,
    type: 'virtual',
    addresses: [],
    portSecurity: [],
    options: { 'virtual-ip': ip, ...(parents ? { 'virtual-parents': parents } : {}) },
    externalIds: { ls: SUBNET, vendor: 'kube-ovn' },
  }) as LogicalSwitchPort;

/** A consistent world: Vip a (plain), pod p, their reservations and the pod's port. */
function healthy(): ObservedState {
  return {
    vips: [vip('a')],
    pods: [pod('p')],
    subnets: [subnet],
    rules: [],
    reservations: {
      [SUBNET]: [
        res('vip/a', '10.16.0.10', '00:00:00:AA:00:10'),
        res('pod/p.default', '10.16.0.20', '00:00:00:BB:00:20'),
      ],
    },
    ports: [podPort('p.default', '00:00:00:bb:00:20 10.16.0.20')],
    loadBalancers: [],
    allocatorViolations: { [SUBNET]: [] },
    switches: [SUBNET],
  };
}

const kinds = (s: ObservedState) => compareState(s).map((d) => `${d.kind} ${d.object}`);

describe('compareState', () => {
  it('reports nothing for a consistent world', () => {
    expect(compareState(healthy())).toEqual([]);
  });

  it('leaked reservation: a Vip owner with no Vip, released on repair', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [...s.reservations[SUBNET]!, res('vip/gone', '10.16.0.99', '00:00:00:AA:00:99')],
    };
    const [d, ...rest] = compareState(s);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      kind: DriftKind.LeakedReservation,
      object: `Reservation/${SUBNET}/vip/gone`,
      action: { type: 'release', subnet: SUBNET, owner: 'vip/gone' },
    });
    expect(d!.detail).toContain('10.16.0.99');
  });

  it('leaked reservation: a pod owner whose pod is gone', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [...s.reservations[SUBNET]!, res('pod/old.default', '10.16.0.30', '00:00:00:AA:00:30')],
    };
    expect(kinds(s)).toEqual([`leaked-reservation Reservation/${SUBNET}/pod/old.default`]);
  });

  it('leaked reservation: a Vip owner in a subnet the Vip does not live in', () => {
    const s = healthy();
    s.reservations = {
      ...s.reservations,
      other: [{ ...res('vip/a', '10.17.0.10', '00:00:00:AA:00:10'), subnet: 'other' }],
    };
    expect(kinds(s)).toEqual(['leaked-reservation Reservation/other/vip/a']);
  });

  it('foreign owners (manual reservation API) and Vips being deleted are not leaks', () => {
    const s = healthy();
    const deleting = vip('d', { v4: '10.16.0.40' });
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    s.vips = [...s.vips, deleting];
    s.reservations = {
      [SUBNET]: [
        ...s.reservations[SUBNET]!,
        res('vip/d', '10.16.0.40', '00:00:00:AA:00:40'),
        res('manual-team-x', '10.16.0.41', '00:00:00:AA:00:41'),
      ],
    };
    expect(compareState(s)).toEqual([]);
  });

  it('a pod that exists but is not allocated yet may hold a reservation (in flight)', () => {
    const s = healthy();
    s.pods = [...s.pods, pod('new', { allocated: false })];
    s.reservations = {
      [SUBNET]: [...s.reservations[SUBNET]!, res('pod/new.default', '10.16.0.50', '00:00:00:AA:00:50')],
    };
    expect(compareState(s)).toEqual([]);
  });

  it('missing reservation of a Ready Vip: reconcile the Vip', () => {
    const s = healthy();
    s.reservations = { [SUBNET]: s.reservations[SUBNET]!.filter((r) => r.owner !== 'vip/a') };
    const drifts = compareState(s);
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({
      kind: DriftKind.MissingReservation,
      object: 'Vip/a',
      action: { type: 'reconcile', kind: 'Vip', name: 'a' },
    });
  });

  it('a Vip that is not Ready is not expected to hold a reservation', () => {
    const s = healthy();
    s.vips = [vip('a', { ready: false })];
    s.reservations = { [SUBNET]: s.reservations[SUBNET]!.filter((r) => r.owner !== 'vip/a') };
    expect(compareState(s)).toEqual([]);
  });

  it('status mismatch: the reservation wins, the status is rewritten from it', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [
        res('vip/a', '10.16.0.11', '00:00:00:AA:00:10'),
        res('pod/p.default', '10.16.0.20', '00:00:00:BB:00:20'),
      ],
    };
    const [d, ...rest] = compareState(s);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      kind: DriftKind.StatusMismatch,
      object: 'Vip/a',
      action: { type: 'rewrite-vip-status', name: 'a', subnet: SUBNET },
    });
    expect(d!.detail).toContain('10.16.0.10');
    expect(d!.detail).toContain('10.16.0.11');
  });

  it('status mismatch whose status address another owner holds: still the status is rewritten', () => {
    const s = healthy();
    s.vips = [vip('a', { v4: '10.16.0.20' })];
    const mismatch = compareState(s).find((d) => d.kind === DriftKind.StatusMismatch)!;
    expect(mismatch.action).toEqual({ type: 'rewrite-vip-status', name: 'a', subnet: SUBNET });
    expect(mismatch.detail).toContain('pod/p.default holds the status address');
    expect(kinds(s)).toContain('duplicate-address Pod/default/p + Vip/a');
  });

  it('pod annotated with an address another owner holds: manual, nothing released', () => {
    const s = healthy();
    s.pods = [pod('p', { ip: '10.16.0.10' })];
    const mismatch = compareState(s).find((d) => d.kind === DriftKind.StatusMismatch)!;
    expect(mismatch.object).toBe('Pod/default/p');
    expect(mismatch.action).toEqual({ type: 'manual' });
    expect(mismatch.detail).toContain('vip/a holds the annotated address');
  });

  it('MAC case does not count as a mismatch; a different MAC does', () => {
    const s = healthy();
    s.vips = [vip('a', { mac: '00:00:00:aa:00:10' })];
    expect(compareState(s)).toEqual([]);
    s.vips = [vip('a', { mac: '00:00:00:AA:00:11' })];
    expect(kinds(s)).toEqual(['status-mismatch Vip/a']);
  });

  it('missing reservation of an allocated pod: restore the annotated addresses', () => {
    const s = healthy();
    s.reservations = { [SUBNET]: s.reservations[SUBNET]!.filter((r) => r.owner !== 'pod/p.default') };
    const [d, ...rest] = compareState(s);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      kind: DriftKind.MissingReservation,
      object: 'Pod/default/p',
      action: {
        type: 'restore-pod-reservation',
        subnet: SUBNET,
        owner: 'pod/p.default',
        v4: '10.16.0.20',
        mac: '00:00:00:bb:00:20',
        namespace: 'default',
        pod: 'p',
      },
    });
  });

  it('pod annotations differ from its reservation: status mismatch, restore', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [
        res('vip/a', '10.16.0.10', '00:00:00:AA:00:10'),
        res('pod/p.default', '10.16.0.21', '00:00:00:BB:00:20'),
      ],
    };
    expect(compareState(s).map((d) => [d.kind, d.action.type])).toEqual([
      ['status-mismatch', 'restore-pod-reservation'],
    ]);
  });

  it('duplicate address: two Ready Vips show the same address', () => {
    const s = healthy();
    s.vips = [...s.vips, vip('b', { v4: '10.16.0.10', mac: '00:00:00:AA:00:12' })];
    s.reservations = { [SUBNET]: s.reservations[SUBNET]! };
    const drifts = compareState(s).filter((d) => d.kind === DriftKind.DuplicateAddress);
    expect(drifts.map((d) => d.object).sort()).toEqual(['Vip/a + Vip/b', 'Vip/b']);
    expect(drifts[0]!.detail).toContain('10.16.0.10');
  });

  it('duplicate address: a pod annotated with a Vip address', () => {
    const s = healthy();
    s.pods = [pod('p', { ip: '10.16.0.10' })];
    const dup = compareState(s).filter((d) => d.kind === DriftKind.DuplicateAddress);
    expect(dup[0]!.object).toBe('Pod/default/p + Vip/a');
  });

  it('a pod bound to a Vip shares its address without a duplicate or a pod reservation', () => {
    const s = healthy();
    s.vips = [vip('a', { reservedBy: 'q.default' })];
    s.pods = [
      ...s.pods,
      pod('q', { ip: '10.16.0.10', mac: '00:00:00:AA:00:10', annotations: { 'ovn.kubernetes.io/vip': 'a' } }),
    ];
    s.ports = [...s.ports, podPort('q.default', '00:00:00:AA:00:10 10.16.0.10')];
    expect(compareState(s)).toEqual([]);
  });

  it('missing pod port, stale pod port, and port on the wrong switch', () => {
    const s = healthy();
    s.ports = [];
    expect(compareState(s).map((d) => [d.kind, d.object, d.action])).toEqual([
      ['missing-port', 'Pod/default/p', { type: 'reconcile', kind: 'Pod', name: 'p', namespace: 'default' }],
    ]);
    s.ports = [podPort('p.default', '00:00:00:bb:00:20 10.16.0.77')];
    expect(kinds(s)).toEqual(['stale-port Port/p.default']);
    s.ports = [
      {
        ...podPort('p.default', '00:00:00:bb:00:20 10.16.0.20'),
        externalIds: { ls: 'x', vendor: 'kube-ovn', pod: 'default/p' },
      },
    ];
    expect(compareState(s)[0]!.detail).toContain('sits on x');
  });

  it('orphan pod port: its pod is gone; ports not ours are ignored', () => {
    const s = healthy();
    s.ports = [
      ...s.ports,
      podPort('gone.default', '00:00:00:00:00:01 10.16.0.3'),
      { ...podPort('router-port', ''), type: 'router', externalIds: {} },
      { ...podPort('other.default', '00:00:00:00:00:02 10.16.0.4'), externalIds: { pod: 'default/other' } },
    ];
    const drifts = compareState(s);
    expect(drifts.map((d) => [d.kind, d.object, d.action])).toEqual([
      ['orphan-port', 'Port/gone.default', { type: 'delete-port', name: 'gone.default' }],
    ]);
  });

  describe('AAP Vips', () => {
    const aapWorld = () => {
      const s = healthy();
      s.vips = [...s.vips, vip('v', { v4: '10.16.0.100', namespace: 'default', mac: '00:00:00:AA:01:00' })];
      s.pods = [pod('p', { labels: { app: 'x' }, annotations: { 'ovn.kubernetes.io/aaps': 'v' } })];
      s.reservations = {
        [SUBNET]: [...s.reservations[SUBNET]!, res('vip/v', '10.16.0.100', '00:00:00:AA:01:00')],
      };
      s.ports = [...s.ports, virtualPort('v', '10.16.0.100', 'p.default')];
      return s;
    };

    it('is consistent with its virtual port and parents', () => {
      expect(compareState(aapWorld())).toEqual([]);
    });

    it('missing virtual port: reconcile the Vip', () => {
      const s = aapWorld();
      s.ports = s.ports.filter((p) => p.name !== 'v');
      expect(compareState(s).map((d) => [d.kind, d.object, d.action])).toEqual([
        ['missing-port', 'Vip/v', { type: 'reconcile', kind: 'Vip', name: 'v' }],
      ]);
    });

    it('wrong parents and wrong virtual-ip', () => {
      const s = aapWorld();
      s.ports = [
        ...s.ports.filter((p) => p.name !== 'v'),
        virtualPort('v', '10.16.0.101', 'gone.default,p.default'),
      ];
      expect(kinds(s)).toEqual(['stale-port Port/v', 'wrong-parents Port/v']);
    });

    it('orphan virtual port: Vip gone; a _v6 port of a live dual-stack Vip that is single-stack now', () => {
      const s = aapWorld();
      s.ports = [...s.ports, virtualPort('dead', '10.16.0.200'), virtualPort('v_v6', 'fd00::1')];
      expect(kinds(s)).toEqual(['orphan-port Port/dead', 'orphan-port Port/v_v6']);
    });

    it('a virtual port of a plain Vip is an orphan', () => {
      const s = healthy();
      s.ports = [...s.ports, virtualPort('a', '10.16.0.10')];
      expect(compareState(s)[0]!.detail).toContain('not an allowed-address-pairs Vip');
    });
  });

  describe('SwitchLBRules', () => {
    const lbWorld = () => {
      const s = healthy();
      s.vips = [
        ...s.vips,
        vip('lbv', { v4: '10.16.0.200', type: 'switch_lb_vip', mac: '00:00:00:AA:02:00' }),
      ];
      s.reservations = {
        [SUBNET]: [...s.reservations[SUBNET]!, res('vip/lbv', '10.16.0.200', '00:00:00:AA:02:00')],
      };
      s.pods = [pod('p', { labels: { app: 'web' } })];
      const rule: SwitchLBRule = {
        metadata: { name: 'r' },
        spec: {
          vip: '10.16.0.200',
          namespace: 'default',
          selector: ['app:web'],
          ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      };
      s.rules = [rule];
      const lb: LoadBalancer = {
        uuid: 'lb1',
        name: 'slr-r-tcp',
        vips: { '10.16.0.200:80': '10.16.0.20:8080' },
        protocol: 'tcp',
        options: {},
        externalIds: { 'switch-lb-rule': 'r', vendor: 'kube-ovn' },
        healthChecks: [],
        ipPortMappings: {},
      };
      s.loadBalancers = [lb];
      return s;
    };

    it('is consistent with its load balancer', () => {
      expect(compareState(lbWorld())).toEqual([]);
    });

    it('missing and stale load balancer: reconcile the rule', () => {
      const s = lbWorld();
      const lb = s.loadBalancers[0]!;
      s.loadBalancers = [];
      expect(compareState(s).map((d) => [d.kind, d.action])).toEqual([
        ['missing-lb', { type: 'reconcile', kind: 'SwitchLBRule', name: 'r' }],
      ]);
      s.loadBalancers = [{ ...lb, vips: { '10.16.0.200:80': '10.16.0.99:8080' } }];
      expect(kinds(s)).toEqual(['stale-lb LoadBalancer/slr-r-tcp']);
    });

    it('orphan load balancer: the rule is gone', () => {
      const s = lbWorld();
      s.rules = [];
      expect(compareState(s).map((d) => [d.kind, d.object, d.action])).toEqual([
        ['orphan-lb', 'LoadBalancer/slr-r-tcp', { type: 'delete-lb', name: 'slr-r-tcp', rule: 'r' }],
      ]);
    });
  });

  describe('Vip bindings of gone pods', () => {
    const bound = (port: string) => {
      const s = healthy();
      s.vips = [vip('a', { reservedBy: port })];
      return s;
    };

    it('stale: no pod and no workload', () => {
      expect(compareState(bound('web-0.default')).map((d) => [d.kind, d.action])).toEqual([
        ['stale-binding', { type: 'release-binding', port: 'web-0.default' }],
      ]);
    });

    it('kept: the StatefulSet still claims the ordinal', () => {
      const s = bound('web-0.default');
      s.workloads = {
        statefulSets: [{ metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } }],
        vms: [],
      };
      expect(compareState(s)).toEqual([]);
      s.workloads = {
        statefulSets: [{ metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 0 } }],
        vms: [],
      };
      expect(kinds(s)).toEqual(['stale-binding Vip/a']);
    });

    it('kept: the VM exists (keepVmIp)', () => {
      const s = bound('vm1.default');
      s.workloads = { statefulSets: [], vms: [{ metadata: { name: 'vm1', namespace: 'default' } }] };
      expect(compareState(s)).toEqual([]);
      expect(kinds({ ...s, keepVmIp: false })).toEqual(['stale-binding Vip/a']);
    });
  });

  it('missing switch and allocator violations', () => {
    const s = healthy();
    s.switches = [];
    s.allocatorViolations = {
      [SUBNET]: [
        { kind: 'two-owners', family: 4, address: '10.16.0.5', message: '10.16.0.5 is held by x, y' },
      ],
    };
    expect(compareState(s).map((d) => [d.kind, d.object, d.action.type])).toEqual([
      ['allocator-invariant', `Subnet/${SUBNET}`, 'manual'],
      ['missing-switch', `Subnet/${SUBNET}`, 'reconcile'],
    ]);
  });

  it('output is sorted and stable whatever the input order', () => {
    const s = healthy();
    s.ports = [podPort('z.default', 'x'), podPort('b.default', 'x'), ...s.ports];
    s.reservations = {
      [SUBNET]: [
        ...s.reservations[SUBNET]!,
        res('vip/zz', '10.16.0.9', 'x'),
        res('vip/bb', '10.16.0.8', 'y'),
      ],
    };
    const first = compareState(s);
    const reversed = compareState({
      ...s,
      ports: [...s.ports].reverse(),
      reservations: { [SUBNET]: [...s.reservations[SUBNET]!].reverse() },
    });
    expect(reversed).toEqual(first);
    expect(first.map((d) => d.object)).toEqual([
      `Reservation/${SUBNET}/vip/bb`,
      `Reservation/${SUBNET}/vip/zz`,
      'Port/b.default',
      'Port/z.default',
    ]);
  });
});

describe('repair actions carry what repair re-checks', () => {
  it('a virtual port of a gone Vip names the Vip; one of a live Vip does not', () => {
    const s = healthy();
    s.ports = [
      ...s.ports,
      virtualPort('gone', '10.16.0.5'),
      virtualPort('gone_v6', 'fd00::5'),
      virtualPort('a', '10.16.0.10'),
    ];
    expect(compareState(s).map((d) => d.action)).toEqual([
      { type: 'delete-port', name: 'a' },
      { type: 'delete-port', name: 'gone', vip: 'gone' },
      { type: 'delete-port', name: 'gone_v6', vip: 'gone' },
    ]);
  });

  it('the same address in two subnets is not a duplicate', () => {
    const s = healthy();
    const other = vip('o', { v4: '10.16.0.10', mac: '00:00:00:AA:09:09' });
    other.metadata.labels!['ovn.kubernetes.io/subnet'] = 'other';
    other.spec.subnet = 'other';
    s.vips = [...s.vips, other];
    s.reservations = {
      ...s.reservations,
      other: [{ ...res('vip/o', '10.16.0.10', '00:00:00:AA:09:09'), subnet: 'other' }],
    };
    expect(compareState(s)).toEqual([]);
  });

  describe('ownership and registrations', () => {
    const info = (o: Partial<SubnetInfo> = {}): SubnetInfo => ({
      name: SUBNET,
      cidrBlock: '10.16.0.0/16',
      gateway: '10.16.0.1',
      excludeIps: [],
      protocol: 'IPv4',
      managedBy: 'kubernetes',
      ...o,
    });
    const withRegs = (s: ObservedState, regs: Record<string, SubnetInfo> = { [SUBNET]: info() }) => {
      s.registrations = regs;
      s.ownSwitches = [SUBNET];
      return s;
    };

    it('a consistent registration and switch: nothing', () => {
      expect(compareState(withRegs(healthy()))).toEqual([]);
    });

    it('a manual owner on an address a Vip status shows (its reservation gone): move it, then the Vip', () => {
      const s = healthy();
      s.reservations = {
        [SUBNET]: [
          res('manual/lb', '10.16.0.10', '00:00:00:CC:00:01'),
          res('pod/p.default', '10.16.0.20', '00:00:00:BB:00:20'),
        ],
      };
      const d = compareState(s).find((x) => x.kind === DriftKind.ManualOnKubernetesAddress);
      expect(d).toMatchObject({
        object: `Reservation/${SUBNET}/manual/lb`,
        action: {
          type: 'move-reservation',
          subnet: SUBNET,
          owner: 'manual/lb',
          address: '10.16.0.10',
          after: { type: 'reconcile', kind: 'Vip', name: 'a' },
        },
      });
      expect(kinds(s)).toEqual([
        'manual-on-kubernetes-address Reservation/ovn-default/manual/lb',
        'missing-reservation Vip/a',
      ]);
    });

    it("a manual owner on a Vip's fixed spec address (Vip not Ready) and on a pod's annotated address", () => {
      const s = healthy();
      const pending: Vip = { ...vip('b', { ready: false }), spec: { subnet: SUBNET, v4ip: '10.16.0.30' } };
      s.vips = [vip('a'), pending];
      s.reservations = {
        [SUBNET]: [
          res('vip/a', '10.16.0.10', '00:00:00:AA:00:10'),
          res('manual/x', '10.16.0.30', '00:00:00:CC:00:02'),
          res('manual/y', '10.16.0.20', '00:00:00:CC:00:03'),
        ],
      };
      const moves = compareState(s).filter((x) => x.kind === DriftKind.ManualOnKubernetesAddress);
      expect(
        moves.map((m) => [m.object, m.action.type === 'move-reservation' && m.action.after?.type]),
      ).toEqual([
        [`Reservation/${SUBNET}/manual/x`, 'reconcile'],
        [`Reservation/${SUBNET}/manual/y`, 'restore-pod-reservation'],
      ]);
      // manual owners elsewhere are theirs: not judged
      s.reservations = {
        [SUBNET]: [
          ...s.reservations[SUBNET]!.slice(0, 1),
          res('pod/p.default', '10.16.0.20', '00:00:00:BB:00:20'),
          res('manual/z', '10.16.0.99', '00:00:00:CC:00:04'),
        ],
      };
      expect(compareState(s).filter((x) => x.kind === DriftKind.ManualOnKubernetesAddress)).toEqual([]);
    });

    it("a reservation on the Subnet's gateway: manual and Vip owners are moved, a pod is reported", () => {
      const s = withRegs(healthy());
      s.reservations = {
        [SUBNET]: [...s.reservations[SUBNET]!, res('manual/gw', '10.16.0.1', '00:00:00:CC:00:05')],
      };
      expect(compareState(s)).toMatchObject([
        {
          kind: DriftKind.GatewayReserved,
          object: `Reservation/${SUBNET}/manual/gw`,
          action: { type: 'move-reservation', owner: 'manual/gw', address: '10.16.0.1' },
        },
      ]);
      const t = withRegs(healthy());
      t.vips = [vip('a', { v4: '10.16.0.1' })];
      t.reservations = {
        [SUBNET]: [res('vip/a', '10.16.0.1', '00:00:00:AA:00:10'), t.reservations[SUBNET]![1]!],
      };
      expect(compareState(t)).toMatchObject([
        {
          kind: DriftKind.GatewayReserved,
          action: {
            type: 'move-reservation',
            owner: 'vip/a',
            after: { type: 'rewrite-vip-status', name: 'a' },
          },
        },
      ]);
      const u = withRegs(healthy());
      u.pods = [pod('p', { ip: '10.16.0.1' })];
      u.ports = [podPort('p.default', '00:00:00:bb:00:20 10.16.0.1')];
      u.reservations = {
        [SUBNET]: [u.reservations[SUBNET]![0]!, res('pod/p.default', '10.16.0.1', '00:00:00:BB:00:20')],
      };
      expect(compareState(u)).toMatchObject([
        { kind: DriftKind.GatewayReserved, action: { type: 'manual' } },
      ]);
    });

    it('a registration that differs from the Subnet, or is not marked: re-run the Subnet reconciler', () => {
      const s = withRegs(healthy(), { [SUBNET]: info({ gateway: '10.16.0.200' }) });
      const [d, ...rest] = compareState(s);
      expect(rest).toEqual([]);
      expect(d).toMatchObject({
        kind: DriftKind.StaleRegistration,
        object: `Subnet/${SUBNET}`,
        action: { type: 'reconcile', kind: 'Subnet', name: SUBNET },
      });
      expect(d!.detail).toContain('gateway 10.16.0.200, Subnet says 10.16.0.1');
      const m = withRegs(healthy(), { [SUBNET]: info({ managedBy: 'manual' }) });
      expect(compareState(m)[0]!.detail).toContain('not marked managed-by-Kubernetes');
    });

    it('a deleted Subnet leaves a switch and a Kubernetes registration: both reported; a manual one is not', () => {
      const s = withRegs(healthy(), {
        [SUBNET]: info(),
        gone: info({ name: 'gone', cidrBlock: '10.99.0.0/24', gateway: '10.99.0.1' }),
        mine: info({ name: 'mine', cidrBlock: '10.98.0.0/24', gateway: '10.98.0.1', managedBy: 'manual' }),
      });
      s.ownSwitches = [SUBNET, 'gone'];
      expect(compareState(s)).toMatchObject([
        {
          kind: DriftKind.OrphanSubnetState,
          object: 'Subnet/gone',
          action: { type: 'delete-subnet-state', subnet: 'gone' },
        },
        {
          kind: DriftKind.OrphanSwitch,
          object: 'Switch/gone',
          action: { type: 'delete-switch', name: 'gone' },
        },
      ]);
    });
  });
});

describe('Subnet status counts (issue 21 item 6)', () => {
  const withStatus = (v4usingIPs: number): SubnetResource => ({ ...subnet, status: { v4usingIPs } });

  it('counts that include every reservation, a manual one too, are no drift', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [...s.reservations[SUBNET]!, res('manual/lab', '10.16.0.30', '00:00:00:CC:00:30')],
    };
    s.subnets = [withStatus(3)];
    expect(kinds(s)).toEqual([]);
  });

  it('counts that miss a manual reservation are stale-subnet-counts, repaired by the Subnet reconciler', () => {
    const s = healthy();
    s.reservations = {
      [SUBNET]: [...s.reservations[SUBNET]!, res('manual/lab', '10.16.0.30', '00:00:00:CC:00:30')],
    };
    s.subnets = [withStatus(2)];
    const drifts = compareState(s).filter((d) => d.kind === DriftKind.StaleSubnetCounts);
    expect(drifts).toEqual([
      expect.objectContaining({
        object: `Subnet/${SUBNET}`,
        detail: 'status counts differ: v4usingIPs 2, the allocator holds 3',
        action: { type: 'reconcile', kind: 'Subnet', name: SUBNET },
      }),
    ]);
  });
});
