import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyParentChange,
  parentColumns,
  parentFromPort,
  parseAaps,
  podParentChange,
  vipsAffectedByPod,
  virtualParents,
} from './aap.ts';
import { podNics } from './pod-network.ts';
import type { Pod } from './types.ts';

const subnets = [
  { name: 'ovn-default', default: true },
  { name: 'net1-sub', provider: 'net1.default.ovn' },
];
const pod = (
  name: string,
  opts: {
    ns?: string;
    labels?: Record<string, string>;
    ann?: Record<string, string>;
    deleting?: boolean;
  } = {},
): Pod => ({
  metadata: {
    name,
    namespace: opts.ns ?? 'default',
    labels: opts.labels ?? {},
    annotations: opts.ann ?? {},
    ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
  },
});
const vip = {
  name: 'vip-aap',
  subnet: 'ovn-default',
  namespace: 'default',
  selector: [{ key: 'app', value: 'aap1' }],
};

describe('parseAaps', () => {
  it('trims, drops empties and deduplicates', () => {
    expect(parseAaps(' vip-a, vip-b,,vip-a , ')).toEqual(['vip-a', 'vip-b']);
    expect(parseAaps(undefined)).toEqual([]);
  });
  it('property: output has no blanks or duplicates, and keeps every named item', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^ ?[a-z]{0,3} ?$/)), (items) => {
        const out = parseAaps(items.join(','));
        const want = new Set(items.map((s) => s.trim()).filter((s) => s !== ''));
        return (
          new Set(out).size === out.length &&
          out.every((s) => s !== '' && s === s.trim()) &&
          out.length === want.size
        );
      }),
    );
  });
});

describe('virtualParents', () => {
  it('selects the seed busybox and keeps others out', () => {
    const pods = [
      pod('busybox', {
        labels: { app: 'aap1' },
        ann: {
          'ovn.kubernetes.io/aaps': 'vip-aap',
          'ovn.kubernetes.io/ip_address': '10.16.0.7',
          'ovn.kubernetes.io/mac_address': '00:00:00:e2:ab:0c',
        },
      }),
      pod('wrong-label', { labels: { app: 'x' }, ann: { 'ovn.kubernetes.io/aaps': 'vip-aap' } }),
      pod('not-asking', { labels: { app: 'aap1' } }),
      pod('other-ns', { ns: 'other', labels: { app: 'aap1' }, ann: { 'ovn.kubernetes.io/aaps': 'vip-aap' } }),
      pod('deleting', {
        labels: { app: 'aap1' },
        ann: { 'ovn.kubernetes.io/aaps': 'vip-aap' },
        deleting: true,
      }),
    ];
    expect(virtualParents(vip, pods, subnets)).toEqual([
      { portName: 'busybox.default', pod: 'busybox', v4: '10.16.0.7', mac: '00:00:00:E2:AB:0C' },
    ]);
  });
  it('takes every asking pod of the namespace when the selector is empty, sorted by port', () => {
    const pods = ['b', 'a', 'c'].map((n) => pod(n, { ann: { 'ovn.kubernetes.io/aaps': 'x, vip-aap' } }));
    expect(virtualParents({ ...vip, selector: [] }, pods, subnets).map((p) => p.portName)).toEqual([
      'a.default',
      'b.default',
      'c.default',
    ]);
  });
  it('has no parents without a namespace', () => {
    expect(
      virtualParents(
        { ...vip, namespace: undefined },
        [pod('a', { labels: { app: 'aap1' }, ann: { 'ovn.kubernetes.io/aaps': 'vip-aap' } })],
        subnets,
      ),
    ).toEqual([]);
  });
  it('uses the NIC on the Vip subnet of a multi-NIC pod', () => {
    const p = pod('m', {
      labels: { app: 'aap1' },
      ann: {
        'ovn.kubernetes.io/aaps': 'vip-aap',
        'k8s.v1.cni.cncf.io/networks': 'net1',
        'net1.default.ovn.kubernetes.io/ip_address': '172.17.0.5',
      },
    });
    expect(virtualParents({ ...vip, subnet: 'net1-sub' }, [p], subnets)).toEqual([
      { portName: 'm.default.net1.default.ovn', pod: 'm', v4: '172.17.0.5' },
    ]);
    expect(virtualParents({ ...vip, subnet: 'elsewhere' }, [p], subnets)).toEqual([]);
  });
});

describe('parentColumns', () => {
  it('sorts each list numerically on its own, empty when none', () => {
    expect(parentColumns([])).toEqual({ pv4ip: '', pv6ip: '', pmac: '', parents: '' });
    expect(
      parentColumns([
        { portName: 'lb-b.default', pod: 'lb-b', v4: '10.16.0.10', mac: '00:00:00:00:00:0B' },
        { portName: 'lb-a.default', pod: 'lb-a', v4: '10.16.0.9', v6: 'fd00::9', mac: '00:00:00:00:00:0A' },
        { portName: 'lb-a.default.net1.default.ovn', pod: 'lb-a', v4: '10.16.0.11' },
      ]),
    ).toEqual({
      pv4ip: '10.16.0.9,10.16.0.10,10.16.0.11',
      pv6ip: 'fd00::9',
      pmac: '00:00:00:00:00:0A,00:00:00:00:00:0B',
      parents: 'lb-a,lb-b',
    });
  });
  it('property: independent of parent order', () => {
    const parent = fc.record({
      portName: fc.string(),
      pod: fc.string(),
      v4: fc.ipV4(),
      mac: fc.constantFrom('00:00:00:00:00:01', '00:00:00:AA:00:02'),
    });
    fc.assert(
      fc.property(fc.array(parent, { maxLength: 6 }), (ps) => {
        return JSON.stringify(parentColumns(ps)) === JSON.stringify(parentColumns([...ps].reverse()));
      }),
    );
  });
});

describe('vipsAffectedByPod', () => {
  const a = pod('p', { labels: { app: 'x' }, ann: { 'ovn.kubernetes.io/aaps': 'v2,v1' } });
  it('covers add, delete, and changed aaps', () => {
    expect(vipsAffectedByPod(undefined, a)).toEqual(['v1', 'v2']);
    expect(vipsAffectedByPod(a, undefined)).toEqual(['v1', 'v2']);
    const b = pod('p', { labels: { app: 'x' }, ann: { 'ovn.kubernetes.io/aaps': 'v3' } });
    expect(vipsAffectedByPod(a, b)).toEqual(['v1', 'v2', 'v3']);
  });
  it('reacts to relabel and deletion, not to no-op updates or pods without aaps', () => {
    expect(
      vipsAffectedByPod(a, pod('p', { labels: { app: 'y' }, ann: { 'ovn.kubernetes.io/aaps': 'v2,v1' } })),
    ).toEqual(['v1', 'v2']);
    expect(vipsAffectedByPod(a, { ...a, metadata: { ...a.metadata, deletionTimestamp: 'now' } })).toEqual([
      'v1',
      'v2',
    ]);
    expect(vipsAffectedByPod(a, structuredClone(a))).toEqual([]);
    expect(vipsAffectedByPod(pod('q'), pod('q', { labels: { z: '1' } }))).toEqual([]);
  });
});

describe('virtualParents properties', () => {
  const arbPod = fc.record({
    name: fc.stringMatching(/^[a-z]{1,4}$/),
    ns: fc.constantFrom('default', 'other'),
    app: fc.constantFrom('aap1', 'x', undefined),
    aaps: fc.subarray(['vip-aap', 'vip-b', ' vip-aap ']),
    deleting: fc.boolean(),
  });
  it('property: returns exactly the asking, matching, live pods of the namespace, sorted and unique', () => {
    fc.assert(
      fc.property(fc.array(arbPod, { maxLength: 12 }), fc.boolean(), (specs, emptySelector) => {
        const pods = specs.map((s) =>
          pod(s.name, {
            ns: s.ns,
            labels: s.app ? { app: s.app } : {},
            ann: { 'ovn.kubernetes.io/aaps': s.aaps.join(',') },
            deleting: s.deleting,
          }),
        );
        const v = emptySelector ? { ...vip, selector: [] } : vip;
        const got = virtualParents(v, pods, subnets).map((p) => p.portName);
        const want = [
          ...new Set(
            specs
              .filter(
                (s) =>
                  s.ns === 'default' &&
                  !s.deleting &&
                  s.aaps.some((a) => a.trim() === 'vip-aap') &&
                  (emptySelector || s.app === 'aap1'),
              )
              .map((s) => `${s.name}.default`),
          ),
        ].sort();
        expect(got).toEqual(want);
      }),
    );
  });
  it('property: vipsAffectedByPod is symmetric in old/new', () => {
    const arb = fc.record({ aaps: fc.subarray(['a', 'b', 'c']), app: fc.constantFrom('x', 'y') });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const px = pod('p', { labels: { app: x.app }, ann: { 'ovn.kubernetes.io/aaps': x.aaps.join(',') } });
        const py = pod('p', { labels: { app: y.app }, ann: { 'ovn.kubernetes.io/aaps': y.aaps.join(',') } });
        expect(vipsAffectedByPod(px, py)).toEqual(vipsAffectedByPod(py, px));
      }),
    );
  });
});

describe('podParentChange / applyParentChange (one pod at a time)', () => {
  const asking = (
    name: string,
    extra: { labels?: Record<string, string>; ann?: Record<string, string> } = {},
  ) =>
    pod(name, {
      labels: { app: 'aap1', ...extra.labels },
      ann: { 'ovn.kubernetes.io/aaps': 'vip-aap', ...extra.ann },
    });

  it('adds the port of a pod that is a parent now, and removes its other ports', () => {
    const change = podParentChange(vip, ['a.default', 'old.default'], asking('a'), subnets);
    expect(change).toEqual({ add: 'a.default', remove: ['old.default'] });
    expect(applyParentChange(['b.default', 'old.default'], change)).toEqual(['a.default', 'b.default']);
  });

  it('removes a pod relabelled out of the selector, being deleted, gone, or on another subnet', () => {
    const ports = ['a.default'];
    const out = [
      asking('a', { labels: { app: 'other' } }),
      pod('a', { labels: { app: 'aap1' }, ann: { 'ovn.kubernetes.io/aaps': 'vip-aap' }, deleting: true }),
      undefined,
      asking('a', { ann: { 'ovn.kubernetes.io/logical_switch': 'net1-sub' } }),
    ];
    for (const p of out) {
      const change = podParentChange(vip, ports, p, subnets);
      expect(change).toEqual({ remove: ['a.default'] });
      expect(applyParentChange(['a.default', 'b.default'], change)).toEqual(['b.default']);
    }
  });

  it('property: after any sequence of pod events, the list kept one pod at a time is the full computation', () => {
    const names = ['a', 'b', 'c', 'd'];
    const version = fc.record({
      ns: fc.constantFrom('default', 'other'),
      app: fc.constantFrom('aap1', 'x'),
      asks: fc.constantFrom('vip-aap', 'vip-aap,z', 'z', ''),
      subnet: fc.constantFrom('', 'net1-sub', 'nowhere'),
      deleting: fc.boolean(),
    });
    const event = fc.record({ who: fc.constantFrom(...names), next: fc.option(version, { nil: undefined }) });
    const build = (
      name: string,
      v: { ns: string; app: string; asks: string; subnet: string; deleting: boolean },
    ) =>
      pod(name, {
        ns: v.ns,
        labels: { app: v.app },
        ann: {
          'ovn.kubernetes.io/aaps': v.asks,
          ...(v.subnet ? { 'ovn.kubernetes.io/logical_switch': v.subnet } : {}),
        },
        deleting: v.deleting,
      });
    const portsOf = (p: Pod | undefined) => {
      const nics = p ? podNics(p, subnets) : undefined;
      return nics?.ok ? nics.value.map((n) => n.portName) : [];
    };
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const pods = new Map<string, Pod>();
        let kept: string[] = [];
        for (const e of events) {
          const before = pods.get(e.who);
          const after = e.next ? build(e.who, e.next) : undefined;
          if (after) pods.set(e.who, after);
          else pods.delete(e.who);
          // What a pod event knows: the pod's ports before and after, and the pod now.
          const ports = [...portsOf(before), ...portsOf(after)];
          kept = applyParentChange(kept, podParentChange(vip, ports, after, subnets));
        }
        const full = virtualParents(vip, [...pods.values()], subnets).map((p) => p.portName);
        expect(kept).toEqual(full);
      }),
    );
  });
});

describe('parentFromPort', () => {
  it('shows a parent as the full computation does, from its port', () => {
    const p = pod('busybox', {
      labels: { app: 'aap1' },
      ann: {
        'ovn.kubernetes.io/aaps': 'vip-aap',
        'ovn.kubernetes.io/ip_address': '10.16.0.7,fd00::7',
        'ovn.kubernetes.io/mac_address': '00:00:00:e2:ab:0c',
      },
    });
    const fromPod = virtualParents(vip, [p], subnets);
    const fromPort = parentFromPort('busybox.default', {
      own: { mac: '00:00:00:e2:ab:0c', ips: ['10.16.0.7', 'fd00::7'] },
      pod: 'default/busybox',
    });
    expect([fromPort]).toEqual(fromPod);
    expect(parentColumns([fromPort!])).toEqual(parentColumns(fromPod));
  });
  it("is undefined for a port that is not a pod's", () => {
    expect(parentFromPort('vip-x', {})).toBeUndefined();
  });
});
