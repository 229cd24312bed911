import { describe, expect, it } from 'vitest';
import { SEED_VIP_HEADER } from '../../test/setup/seed.ts';
import { readYamlObjects } from './index.ts';
import { BUILTIN_RESOURCES, type ResourceInfo, resourceFromCrd } from './resources.ts';
import { evalPath, humanDuration, toTable } from './table.ts';

const vipCrd = readYamlObjects(
  new URL('../manifests/crds/vips.kubeovn.io.yaml', import.meta.url).pathname,
)[0];

describe('table', () => {
  it('evaluates printer column paths', () => {
    const o = {
      status: {
        conditions: [
          { type: 'A', status: 'x' },
          { type: 'Ready', status: 'True' },
        ],
        l: [1, 2],
      },
    };
    expect(evalPath(o, '.status.conditions[?(@.type=="Ready")].status')).toEqual(['True']);
    expect(evalPath(o, '.status.l[*]')).toEqual([1, 2]);
    expect(evalPath(o, '.status.l[1]')).toEqual([2]);
    expect(evalPath(o, '.status.missing')).toEqual([]);
  });

  it("prints the Vip CRD's columns in the seed's order, then PARENTS, HOLDER, NAMESPACE and TYPE at priority 1", () => {
    const info = resourceFromCrd(vipCrd as never);
    const t = toTable(info, [
      {
        metadata: { name: 'vip-dynamic-01' },
        spec: { subnet: 'ovn-default' },
        status: { v4ip: '10.16.0.12', mac: '00:00:00:F0:DB:25', ready: true },
      },
    ]);
    expect(t.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      ...SEED_VIP_HEADER.slice(1),
      'PARENTS',
      'HOLDER',
      'NAMESPACE',
      'TYPE',
    ]);
    expect(t.columnDefinitions.slice(-4).map((c) => c.priority)).toEqual([1, 1, 1, 1]);
    expect(t.rows[0]?.cells).toEqual([
      'vip-dynamic-01',
      '10.16.0.12',
      null,
      '00:00:00:F0:DB:25',
      null,
      null,
      null,
      'ovn-default',
      true,
      null,
      null,
      null,
      null,
    ]);
    expect(t.rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata' });
  });

  it('has fixed columns for pods and formats ages like kube', () => {
    const pods = BUILTIN_RESOURCES.find((r) => r.resource === 'pods') as ResourceInfo;
    const now = new Date('2026-01-01T00:10:00Z');
    const t = toTable(
      pods,
      [
        {
          metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' },
          spec: { containers: [{}] },
          status: { phase: 'Running' },
        },
      ],
      { now },
    );
    expect(t.rows[0]?.cells.slice(0, 5)).toEqual(['p', '0/1', 'Running', '0', '10m']);
    expect([
      humanDuration(5_000),
      humanDuration(150_000),
      humanDuration(3 * 3600_000 + 60_000),
      humanDuration(50 * 3600_000),
    ]).toEqual(['5s', '2m30s', '3h1m', '2d2h']);
  });
});
