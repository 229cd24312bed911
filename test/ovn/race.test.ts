// Eight writers (eight connections, like eight function replicas) racing on the same rows: the
// wait guards must leave exactly one row and lose no update.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { NorthboundWriter, PortCache, parentsOf } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const WRITERS = 8;

// Each writer reads either from the server or from its own monitor-fed PortCache (which can lag).
describe.each(['server reads', 'port cache'])('eight racing writers (%s)', (mode) => {
  const clients: OvsdbClient[] = [];
  const writers: NorthboundWriter[] = [];
  beforeAll(async () => {
    for (let i = 0; i < WRITERS; i++) {
      const c = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
      clients.push(c);
      const portCache = mode === 'port cache' ? await PortCache.start(c) : undefined;
      writers.push(new NorthboundWriter(c, { maxAttempts: 100, ...(portCache && { portCache }) }));
    }
  });
  afterAll(() => {
    for (const c of clients) c.close();
  });

  const countRows = async (table: string, name: string) =>
    (await nbctl(remote, '--bare', '--columns=_uuid', 'find', table, `name=${name}`))
      .split('\n')
      .filter(Boolean).length;

  it('create the same switch (a table without a name index) exactly once', async () => {
    const ls = unique('ls');
    const made = await Promise.all(
      writers.map((w) => w.ensureLogicalSwitch({ name: ls, cidrBlock: '10.30.0.0/16' })),
    );
    expect(new Set(made.map((s) => s.uuid)).size).toBe(1);
    expect(await countRows('Logical_Switch', ls)).toBe(1);
  });

  it("create the same Vip's virtual port and each add its own parent: one row, all eight parents", async () => {
    const ls = unique('ls');
    await writers[0]!.ensureLogicalSwitch({ name: ls, cidrBlock: '10.31.0.0/16' });
    const vip = unique('vip');
    const parents = writers.map((_, i) => `pod${i}.default`);
    await Promise.all(
      writers.map(async (w, i) => {
        await w.ensureVirtualPort({ switchName: ls, name: vip, virtualIp: '10.31.0.100' });
        await w.changeVirtualParents([{ name: vip, virtualIp: '10.31.0.100' }], {
          add: parents[i]!,
          remove: [],
        });
      }),
    );
    expect(await countRows('Logical_Switch_Port', vip)).toBe(1);
    expect((await nbctl(remote, 'lsp-list', ls)).trim().split('\n')).toHaveLength(1);
    const port = await writers[0]!.getPort(vip);
    expect(parentsOf(port!)).toEqual([...parents].sort());
    expect(port?.options['virtual-ip']).toBe('10.31.0.100');
  });

  it("one pod's parent change at a time, from eight writers at once: every add and remove of a dual-stack Vip's two ports lands", async () => {
    const ls = unique('ls');
    await writers[0]!.ensureLogicalSwitch({ name: ls, cidrBlock: '10.34.0.0/16' });
    const vip = unique('vip');
    const ports = [
      { name: vip, virtualIp: '10.34.0.100' },
      { name: `${vip}_v6`, virtualIp: 'fd00:34::100' },
    ];
    const old = Array.from({ length: WRITERS * 2 }, (_, k) => `old${k}.ns`);
    for (const p of ports)
      await writers[0]!.ensureVirtualPort({
        switchName: ls,
        name: p.name,
        virtualIp: p.virtualIp,
        parents: old,
      });
    // Writer i: four pods join, two leave, and one pod's port is renamed (one change: add + remove).
    await Promise.all(
      writers.map(async (w, i) => {
        const changes = [
          ...[0, 1, 2, 3].map((j) => ({ add: `new${i}-${j}.ns`, remove: [] })),
          { remove: [`old${2 * i}.ns`] },
          { add: `moved${i}.ns`, remove: [`old${2 * i + 1}.ns`] },
          { remove: [`new${i}-3.ns`] },
        ];
        for (const change of changes) expect(await w.changeVirtualParents(ports, change)).toBeDefined();
      }),
    );
    const want = writers
      .flatMap((_, i) => [`new${i}-0.ns`, `new${i}-1.ns`, `new${i}-2.ns`, `moved${i}.ns`])
      .sort();
    for (const p of ports) {
      const shown = await nbctl(remote, 'get', 'Logical_Switch_Port', p.name, 'options:virtual-parents');
      expect(shown.trim().replace(/"/g, '').split(',')).toEqual(want);
    }
  });

  it('a parent change for a virtual port that is missing or has another address writes nothing', async () => {
    const ls = unique('ls');
    await writers[0]!.ensureLogicalSwitch({ name: ls, cidrBlock: '10.35.0.0/16' });
    const vip = unique('vip');
    await writers[0]!.ensureVirtualPort({
      switchName: ls,
      name: vip,
      virtualIp: '10.35.0.100',
      parents: ['a.ns'],
    });
    const w = writers[WRITERS - 1]!;
    expect(
      await w.changeVirtualParents([{ name: vip, virtualIp: '10.35.0.101' }], { add: 'b.ns', remove: [] }),
    ).toBeUndefined();
    expect(
      await w.changeVirtualParents(
        [
          { name: vip, virtualIp: '10.35.0.100' },
          { name: `${vip}_v6`, virtualIp: 'fd00:35::100' },
        ],
        { add: 'b.ns', remove: [] },
      ),
    ).toBeUndefined();
    expect(parentsOf((await writers[0]!.getPort(vip))!)).toEqual(['a.ns']);
  });

  it('create the same load balancer (no name index) exactly once, attached once', async () => {
    const ls = unique('ls');
    await writers[0]!.ensureLogicalSwitch({ name: ls, cidrBlock: '10.33.0.0/16' });
    const name = unique('lb');
    const made = await Promise.all(
      writers.map((w) =>
        w.ensureLoadBalancer({
          name,
          switchName: ls,
          protocol: 'tcp',
          vips: { '10.33.0.10:80': ['10.33.0.20:80'] },
        }),
      ),
    );
    expect(new Set(made.map((l) => l.uuid)).size).toBe(1);
    expect(await countRows('Load_Balancer', name)).toBe(1);
    const lines = (await nbctl(remote, 'ls-lb-list', ls)).split('\n');
    expect(lines.filter((l) => l.includes(name))).toHaveLength(1);
  });
});
