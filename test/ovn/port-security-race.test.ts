// Port security refreshed by eight writers at once (eight connections, like eight function
// replicas) while the state it derives from keeps changing: every change is followed by a refresh
// that starts after it, as the reconcilers do, and the port must end with the value of the last
// state. The "API server" here is a variable read inside the callback with random delays, so reads
// and writes interleave every which way; NB is the run's real ovsdb-server.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nbctl } from '../../infra/local/services.ts';
import { NorthboundWriter, PortCache } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');
const unique = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const WRITERS = 8;
const MAC = '00:00:00:00:20:01';
const OWN = '10.40.0.5';
const POOL = ['10.40.0.100', '10.40.0.101', 'fd00::100'];
/** What the port should allow for a set of Vip addresses (the pure rule, simplified). */
const element = (vips: readonly string[]) => [MAC, OWN, ...[...vips].sort()].join(' ');

async function portWithSwitch(w: NorthboundWriter, cidr: string) {
  const ls = unique('ls');
  await w.ensureLogicalSwitch({ name: ls, cidrBlock: cidr });
  const name = unique('pod');
  await w.ensurePort({ switchName: ls, name, mac: MAC, ips: [OWN], pod: name, namespace: 'ns' });
  return name;
}

describe.each(['server reads', 'port cache'])('port security refreshed by eight writers (%s)', (mode) => {
  const clients: OvsdbClient[] = [];
  const caches: PortCache[] = [];
  const writers: NorthboundWriter[] = [];
  let retries = 0;
  beforeAll(async () => {
    for (let i = 0; i < WRITERS; i++) {
      const c = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
      clients.push(c);
      const portCache = mode === 'port cache' ? await PortCache.start(c) : undefined;
      if (portCache) caches.push(portCache);
      writers.push(
        new NorthboundWriter(c, {
          maxAttempts: 200,
          onRetry: () => retries++,
          ...(portCache && { portCache }),
        }),
      );
    }
  });
  afterAll(async () => {
    for (const c of caches) await c.close();
    for (const c of clients) c.close();
  });

  const shown = async (port: string) =>
    (await nbctl(remote, '--bare', '--columns=port_security', 'find', 'Logical_Switch_Port', `name=${port}`))
      .trim()
      .replace(/"/g, '');

  it('a port is created with its own addresses as port security', async () => {
    const port = await portWithSwitch(writers[0]!, '10.40.0.0/16');
    expect(await shown(port)).toBe(`${MAC} ${OWN}`);
  });

  it('ends with the value of the last state, whatever the interleaving (10 rounds of 24 changes)', async () => {
    const before = retries;
    for (let round = 0; round < 10; round++) {
      const port = await portWithSwitch(writers[0]!, '10.40.0.0/16');
      let state: string[] = [];
      const compute = async () => {
        await sleep(Math.random() * 4);
        const seen = element(state); // the API read
        // Now and then a long stall between the API read and the write: a stale writer.
        await sleep(Math.random() < 0.2 ? 10 + Math.random() * 20 : Math.random() * 4);
        return [seen];
      };
      const refreshes: Promise<unknown>[] = [];
      for (let i = 0; i < 24; i++) {
        // Toggling between two values makes A-B-A histories (a value comes back) frequent.
        state = Math.random() < 0.5 ? [] : [POOL[i % POOL.length]!];
        refreshes.push(writers[i % WRITERS]!.refreshPortSecurity(port, compute));
        await sleep(Math.random() * 3);
      }
      await Promise.all(refreshes);
      expect(await shown(port)).toBe(element(state));
    }
    // The rounds did race (guards lost and retried), so the result is not an accident of timing.
    expect(retries - before).toBeGreaterThan(0);
  });

  it('a stale writer whose guard held (the other pass had nothing to change) repairs its own write', async () => {
    const port = await portWithSwitch(writers[0]!, '10.40.0.0/16');
    const x = element([]);
    const y = element([POOL[0]!]);
    const api: { state: 'S1' | 'S2' } = { state: 'S1' };
    const wanted = () => (api.state === 'S1' ? y : x);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    // A reads the port (x) and the API state S1 (wants y), then stalls before writing.
    const a = writers[0]!.refreshPortSecurity(port, async () => {
      const seen = wanted();
      if (calls++ === 0) await gate;
      return [seen];
    });
    await sleep(50);
    // The state moves on to S2, whose value is x again; B finds nothing to change.
    api.state = 'S2';
    await writers[1]!.refreshPortSecurity(port, async () => [wanted()]);
    expect(await shown(port)).toBe(x);
    release();
    await a;
    // A's guard on x held, so its stale write went in; its next pass read S2 and put x back, and
    // a third found nothing to change.
    expect(calls).toBe(3);
    expect(await shown(port)).toBe(x);
  });
});
