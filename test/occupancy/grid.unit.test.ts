// The occupancy runs, who-holds and AAP rows as pure functions (no servers).
import { describe, expect, it } from 'vitest';
import type { Vip } from '../../shared/domain/types.ts';
import type { Reservation, SubnetCounts, SubnetInfo } from '../../shared/ipam/index.ts';
import { subnetRange } from '../../shared/ipam/subnet-range.ts';
import {
  aapRows,
  type FamilyGrid,
  familyGrid,
  parentsFromStatus,
  subnetOccupancy,
  whoHolds,
  whoLines,
} from '../../shared/occupancy/index.ts';

const info = (over: Partial<SubnetInfo> = {}): SubnetInfo => ({
  name: 'net1',
  cidrBlock: '10.0.0.0/24',
  gateway: '10.0.0.1',
  excludeIps: ['10.0.0.10..10.0.0.19'],
  protocol: 'IPv4',
  managedBy: 'kubernetes',
  ...over,
});
const res = (owner: string, v4?: string, v6?: string): Reservation => ({
  subnet: 'net1',
  owner,
  mac: '00:00:00:00:00:01',
  ...(v4 ? { v4 } : {}),
  ...(v6 ? { v6 } : {}),
});

/** The state of every cell, expanded (test side only). */
const cellsOf = (g: FamilyGrid) => g.runs.flatMap((r) => Array.from({ length: r.length }, () => r.state));

describe('familyGrid', () => {
  it('covers every cell once, in order, with the states of a /24', () => {
    const range = subnetRange(info());
    const g = familyGrid(range.v4!, [
      res('vip/web', '10.0.0.5'),
      res('pod/a.default', '10.0.0.6'),
      res('alice', '10.0.0.200'),
    ]);
    expect(g.cells).toBe(256);
    expect(g.truncated).toBe(false);
    let next = 0;
    for (const r of g.runs) {
      expect(r.start).toBe(next);
      expect(r.length).toBeGreaterThan(0);
      next += r.length;
    }
    expect(next).toBe(256);
    const cells = cellsOf(g);
    expect(cells[0]).toBe('excluded'); // network
    expect(cells[1]).toBe('gateway');
    expect(cells[2]).toBe('free');
    expect(cells[5]).toBe('vip');
    expect(cells[6]).toBe('pod');
    expect(cells.slice(10, 20)).toEqual(Array(10).fill('excluded'));
    expect(cells[20]).toBe('free');
    expect(cells[200]).toBe('manual');
    expect(cells[255]).toBe('excluded'); // broadcast
    expect(g.runs.find((r) => r.start === 5)?.holder).toBe('web');
    expect(g.runs.find((r) => r.start === 6)?.holder).toBe('a.default');
    expect(g.runs.find((r) => r.start === 200)?.holder).toBe('alice');
  });

  it('sends runs, not cells: a /16 with 3,000 holders is about one run per holder', () => {
    const range = subnetRange(
      info({ cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', excludeIps: ['10.16.200.0..10.16.255.254'] }),
    );
    const held = Array.from({ length: 3000 }, (_, i) =>
      res(`vip/v${i}`, `10.16.${Math.floor((i * 7) / 250)}.${((i * 7) % 250) + 2}`),
    );
    const g = familyGrid(range.v4!, held);
    expect(g.cells).toBe(65_536);
    expect(g.runs.filter((r) => r.state === 'vip')).toHaveLength(3000);
    expect(g.runs.length).toBeLessThan(3000 * 2 + 10);
    expect(g.runs.filter((r) => r.state === 'excluded').at(-1)).toMatchObject({
      start: 200 * 256,
      length: 56 * 256,
    });
  });

  it('draws the first MAX cells of an IPv6 block and counts holders beyond them', () => {
    const range = subnetRange(
      info({ cidrBlock: 'fd00::/64', gateway: 'fd00::1', excludeIps: [], protocol: 'IPv6' }),
    );
    const g = familyGrid(
      range.v6!,
      [res('vip/a', undefined, 'fd00::2'), res('vip/b', undefined, 'fd00::1:0:0')],
      1024,
    );
    expect(g).toMatchObject({
      cells: 1024,
      truncated: true,
      heldBeyond: 1,
      first: 'fd00::',
      cidr: 'fd00::/64',
    });
    expect(cellsOf(g)[2]).toBe('vip');
    expect(cellsOf(g)[1023]).toBe('free');
  });
});

describe('subnetOccupancy', () => {
  it('gives the Subnet status counts per family, with the excluded count', () => {
    const counts: SubnetCounts = {
      v4AvailableIPs: 240,
      v4UsingIPs: 3,
      v4UsingIPRange: '10.0.0.5-10.0.0.6,10.0.0.200',
      v6AvailableIPs: 0,
      v6UsingIPs: 0,
      v6UsingIPRange: '',
      v4AvailableIPsExact: '240',
      v6AvailableIPsExact: '0',
    };
    const o = subnetOccupancy(info(), [res('vip/web', '10.0.0.5')], counts);
    expect(o.families).toHaveLength(1);
    expect(o.families[0]!.usage).toMatchObject({ family: 4, used: 3, available: 240, excluded: '11' });
  });
});

describe('whoHolds', () => {
  const subnets = [
    { info: info(), reservations: [res('vip/web', '10.0.0.5'), res('pod/a.default', '10.0.0.6')] },
  ];
  it.each([
    ['10.0.0.5', 'held', 'Vip web'],
    ['10.0.0.6', 'held', 'pod a.default'],
    ['10.0.0.1', 'gateway', 'the gateway'],
    ['10.0.0.12', 'excluded', 'excluded'],
    ['10.0.0.0', 'network', 'network address'],
    ['10.0.0.255', 'broadcast', 'broadcast address'],
    ['10.0.0.7', 'free', 'free'],
  ])('%s is %s', (ip, state, words) => {
    const a = whoHolds(ip, subnets)!;
    expect(a.uses).toHaveLength(1);
    expect(a.uses[0]!.state).toBe(state);
    expect(whoLines(a)[0]).toContain(words);
    expect(whoLines(a)[0]).toContain('subnet net1');
  });
  it('says when no subnet holds it, and refuses what is not an address', () => {
    expect(whoLines(whoHolds('192.168.1.1', subnets)!)[0]).toContain('in no subnet');
    expect(whoHolds('not-an-ip', subnets)).toBeUndefined();
  });
});

describe('AAP rows', () => {
  const vip = (name: string, spec: Vip['spec'], status: Vip['status'] = {}): Vip => ({
    metadata: { name },
    spec,
    status,
  });
  it('lists AAP Vips only, with parents from status addresses and the holder', () => {
    const reservations = [
      res('pod/lb-a.default', '10.0.0.7'),
      res('pod/lb-b.default', '10.0.0.8'),
      res('vip/keep', '10.0.0.5'),
    ];
    const vips = [
      vip(
        'keep',
        { subnet: 'net1', namespace: 'default' },
        { v4ip: '10.0.0.5', pv4ip: '10.0.0.8,10.0.0.7', holder: 'lb-b.default', ready: true },
      ),
      vip('plain', { subnet: 'net1' }, { v4ip: '10.0.0.9' }),
      vip('slr', { subnet: 'net1', namespace: 'default', type: 'switch_lb_vip' }),
    ];
    const rows = aapRows(vips, (v) => parentsFromStatus(v, reservations));
    expect(rows).toEqual([
      {
        name: 'keep',
        subnet: 'net1',
        namespace: 'default',
        addresses: ['10.0.0.5'],
        parents: ['lb-a.default', 'lb-b.default'],
        holder: 'lb-b.default',
        ready: true,
      },
    ]);
  });
});
