// The MAC registry's layout on one Redis: a new owner's MAC is registered as m:<MAC> -> holder
// only (its record carries the MAC), where older versions also wrote h:<holder> -> MAC. Both layouts
// must keep working, on one Redis and through the Cluster protocol (data moved to a Cluster). A
// private Redis: the registry is cluster-wide, and its '#h' mark is part of what is tested.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../infra/local/services.ts';
import { createRedisAllocator, readMacLayout, switchMacLayout } from '../../shared/ipam/index.ts';
import { loadCommands } from '../../shared/ipam/redis/commands.ts';
import { MAC_KEYS, subnetKeys } from '../../shared/ipam/redis/keys.ts';
import { reasonOf, uniqueName } from './helpers.ts';

const MAP = '{ipam-mac}:map';
const USED = '{ipam-mac}:u';

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** The registry's fields for the holders of one subnet: h:<subnet>/<owner> and m:<MAC> naming them. */
async function registry(subnet: string) {
  const all = await redis.hgetall(MAP);
  const h = Object.keys(all)
    .filter((k) => k.startsWith(`h:${subnet}/`))
    .sort();
  const m = Object.entries(all)
    .filter(([k, v]) => k.startsWith('m:') && v.startsWith(`${subnet}/`))
    .map(([k, v]) => `${k.slice(2)} ${v}`)
    .sort();
  return { h, m };
}

/** An older version's release of a holder's MAC (its macRelease): the MAC h:<holder> names, freed
 *  (m:<MAC>, h:<holder>, the bit) when m:<MAC> names the holder. Without h:<holder> it frees none. */
async function olderMacRelease(holder: string) {
  const mac = await redis.hget(MAP, `h:${holder}`);
  if (!mac) return null;
  if ((await redis.hget(MAP, `m:${mac}`)) === holder) {
    await redis.hdel(MAP, `h:${holder}`, `m:${mac}`);
    if (mac.startsWith('00:00:00:'))
      await redis.setbit(USED, Number.parseInt(mac.slice(9).replaceAll(':', ''), 16) - 1, 0);
  } else await redis.hdel(MAP, `h:${holder}`);
  return mac;
}

/** Whether a dynamic-space MAC (00:00:00:XX:XX:XX) is marked in use: bit i is MAC value i+1. */
const macBitSet = async (mac: string) =>
  (await redis.getbit(USED, Number.parseInt(mac.slice(9).replaceAll(':', ''), 16) - 1)) === 1;

describe('the MAC registry layout', () => {
  it('one Redis, a fresh registry (v3): a dynamic MAC is kept by its bit and the record, a fixed one by m:<MAC>', async () => {
    await redis.flushall();
    const ipam = createRedisAllocator(redis);
    const s = uniqueName('lay');
    await ipam.registerSubnet({ name: s, cidrBlock: '10.90.0.0/24' });
    // a batch of dynamic requests (the fast path), then one alone (the general code), one fixed MAC
    const batch = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => ipam.allocate({ subnet: s, owner })));
    const alone = await ipam.allocate({ subnet: s, owner: 'e' });
    const fixed = await ipam.allocate({ subnet: s, owner: 'f', mac: '02:00:00:90:00:01' });
    expect(await registry(s)).toEqual({ h: [], m: [`${fixed.mac} ${s}/f`] });
    for (const a of [...batch, alone]) expect(await macBitSet(a.mac)).toBe(true);
    expect(new Set([...batch, alone].map((a) => a.mac)).size).toBe(5);
    // a registry this version created, never written by the Cluster protocol: no h:<holder> to
    // read ('#h' '0'), and layout v3 ('#m' '1'); the map holds the marks, the cursor and the fixed MAC
    expect(await redis.hget(MAP, '#h')).toBe('0');
    expect(await readMacLayout(redis)).toBe('v3');
    expect((await redis.hkeys(MAP)).sort()).toEqual(['#h', '#m', '#next', `m:${fixed.mac}`]);
    expect(await ipam.audit(s)).toEqual([]);
    // a repeat answers the held MAC; a fixed MAC held by another owner is refused naming it
    expect(await ipam.allocate({ subnet: s, owner: 'a' })).toMatchObject({
      mac: batch[0]?.mac,
      created: false,
    });
    const e = await ipam.allocate({ subnet: s, owner: 'g', mac: fixed.mac }).catch((x: unknown) => x);
    expect(e).toMatchObject({ reason: 'MACConflict', details: { holder: `${s}/f` } });
    // release frees the MAC (its bit: the record was its only other copy); replace moves it
    expect(await ipam.release(s, 'e')).toBe(true);
    expect(await macBitSet(alone.mac)).toBe(false);
    const moved = await ipam.replace({ subnet: s, owner: 'f', mac: '02:00:00:90:00:02' });
    expect(moved.mac).toBe('02:00:00:90:00:02');
    expect(await registry(s)).toEqual({ h: [], m: [`02:00:00:90:00:02 ${s}/f`] });
    expect(await ipam.audit(s)).toEqual([]);
  });

  it('an old-layout Redis (h:<holder> for every owner) keeps working: repeats, release, replace, audit', async () => {
    await redis.flushall();
    const ipam = createRedisAllocator(redis);
    const s = uniqueName('old');
    await ipam.registerSubnet({ name: s, cidrBlock: '10.91.0.0/24' });
    const held = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => ipam.allocate({ subnet: s, owner })));
    // what older versions stored besides: h:<holder> -> MAC for every owner, and no '#h' mark; and
    // a MAC the Cluster protocol of an older version reserved for an owner that got no address
    await redis.hset(
      MAP,
      ...held.flatMap((a) => [`h:${s}/${a.owner}`, a.mac, `m:${a.mac}`, `${s}/${a.owner}`]),
    );
    await redis.hset(MAP, `h:${s}/left`, '00:00:00:00:10:00', `m:00:00:00:00:10:00`, `${s}/left`);
    await redis.setbit(USED, 0x1000 - 1, 1);
    await redis.hdel(MAP, '#h', '#m');
    // the owner's allocation (in a batch: the fast path) takes that MAC
    const wave = await Promise.all(['left', 'x', 'y'].map((owner) => ipam.allocate({ subnet: s, owner })));
    expect(wave[0]).toMatchObject({ mac: '00:00:00:00:10:00', created: true });
    for (const o of ['x', 'y']) expect(await ipam.release(s, o)).toBe(true);
    expect(await ipam.release(s, 'left')).toBe(true);
    expect(await macBitSet('00:00:00:00:10:00')).toBe(false);
    expect(await redis.hget(MAP, '#h')).toBeNull();
    expect(await ipam.audit(s)).toEqual([]);
    expect(await ipam.allocate({ subnet: s, owner: 'a' })).toMatchObject({
      mac: held[0]?.mac,
      created: false,
    });
    expect(await ipam.allocate({ subnet: s, owner: 'a', mac: held[0]?.mac })).toMatchObject({
      created: false,
    });
    expect(await reasonOf(ipam.allocate({ subnet: s, owner: 'a', mac: held[1]?.mac }))).toBe(
      'ImmutableField',
    );
    // release: the old entries go, the MAC is free again
    expect(await ipam.release(s, 'b')).toBe(true);
    expect(await macBitSet(held[1]!.mac)).toBe(false);
    // replace with a new MAC: the old h:<holder> and m:<MAC> go; the registry is not switched, so
    // the new MAC is registered as older versions do it, h:<holder> too
    await ipam.replace({ subnet: s, owner: 'c', mac: '02:00:00:91:00:01' });
    expect(await macBitSet(held[2]!.mac)).toBe(false);
    // a new owner next to the old ones: still the old layout (see 'the layout gate' below)
    const fresh = await ipam.allocate({ subnet: s, owner: 'e' });
    expect(await registry(s)).toEqual({
      h: [`h:${s}/a`, `h:${s}/c`, `h:${s}/d`, `h:${s}/e`],
      m: [
        `${held[0]?.mac} ${s}/a`,
        `${held[3]?.mac} ${s}/d`,
        `02:00:00:91:00:01 ${s}/c`,
        `${fresh.mac} ${s}/e`,
      ].sort(),
    });
    expect(await ipam.audit(s)).toEqual([]);
    // a stale h:<holder> that disagrees with the record is still reported
    await redis.hset(MAP, `h:${s}/d`, held[0]!.mac);
    expect((await ipam.audit(s)).map((v) => v.kind)).toEqual(['mac']);
  });

  it('one Redis layout through the Cluster protocol (data moved to a Cluster): no MAC leaks or conflicts', async () => {
    await redis.flushall();
    const one = createRedisAllocator(redis);
    const cluster = createRedisAllocator(redis, { splitMac: true });
    const s = uniqueName('moved');
    await one.registerSubnet({ name: s, cidrBlock: '10.92.0.0/24' });
    const held = await Promise.all(['a', 'b', 'c'].map((owner) => one.allocate({ subnet: s, owner })));
    const before = await registry(s);
    expect(before.h).toEqual([]);
    // a repeat takes the record's MAC, and the MAC the Cluster protocol reserved first goes back
    expect(await cluster.allocate({ subnet: s, owner: 'a' })).toMatchObject({
      mac: held[0]?.mac,
      created: false,
    });
    expect(await cluster.allocate({ subnet: s, owner: 'b', mac: held[1]?.mac })).toMatchObject({
      created: false,
    });
    expect(await registry(s)).toEqual(before);
    expect(await cluster.audit(s)).toEqual([]);
    // the Cluster protocol wrote h:<holder> entries: the registry is marked so
    expect(await redis.hget(MAP, '#h')).toBe('1');
    // release finds the MAC in the record
    expect(await cluster.release(s, 'a')).toBe(true);
    expect(await macBitSet(held[0]!.mac)).toBe(false);
    // replace frees the held MAC
    await cluster.replace({ subnet: s, owner: 'c', mac: '02:00:00:92:00:01' });
    expect(await macBitSet(held[2]!.mac)).toBe(false);
    // (a fresh registry is v3: b's MAC is kept by its bit and record; the Cluster protocol writes m:)
    expect(await registry(s)).toEqual({ h: [`h:${s}/c`], m: [`02:00:00:92:00:01 ${s}/c`] });
    expect(await macBitSet(held[1]!.mac)).toBe(true);
    expect(await cluster.audit(s)).toEqual([]);
  });

  it('the audit reports an m:<MAC> whose holder does not hold it (an older version releasing a new-layout owner)', async () => {
    await redis.flushall();
    const ipam = createRedisAllocator(redis);
    const s = uniqueName('leak');
    // a v2 registry (m:<MAC> for every MAC): what an older version's release leaves is visible
    await redis.hset(MAP, '#h', '0');
    await ipam.registerSubnet({ name: s, cidrBlock: '10.94.0.0/24' });
    const [a] = await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
    expect(await ipam.audit(s)).toEqual([]);
    // an older version frees the addresses, then looks for h:<holder> to free the MAC: finds none
    await loadCommands(redis).release(...subnetKeys(s), 'a', `${s}/a`, '');
    const found = await ipam.audit(s);
    expect(found.map((v) => v.kind)).toEqual(['mac']);
    expect(found[0]?.message).toContain(`MAC ${a?.mac} is registered to ${s}/a`);
  });

  it("the Cluster protocol's first h:<holder> marks the registry; one Redis then takes a MAC left that way", async () => {
    await redis.flushall();
    const ipam = createRedisAllocator(redis);
    const s = uniqueName('mark');
    await ipam.registerSubnet({ name: s, cidrBlock: '10.93.0.0/24' });
    await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
    expect(await redis.hget(MAP, '#h')).toBe('0');
    // the Cluster protocol cut between its two scripts: a MAC held for an owner without an address
    const m = (await loadCommands(redis).macReserve(...MAC_KEYS, `${s}/left`, '')) as [
      string,
      number,
      string,
    ];
    expect(await redis.hget(MAP, '#h')).toBe('1');
    const wave = await Promise.all(['d', 'left', 'e'].map((owner) => ipam.allocate({ subnet: s, owner })));
    expect(wave[1]).toMatchObject({ mac: m[2], created: true });
    const alone = await ipam.allocate({ subnet: s, owner: 'left' });
    expect(alone).toMatchObject({ mac: m[2], created: false });
    expect(await ipam.audit(s)).toEqual([]);
  });

  describe('the layout gate (rolling updates)', () => {
    it('a registry older versions wrote keeps getting h:<holder> (an older replica releases cleanly) until switched to v2', async () => {
      await redis.flushall();
      // a registry older versions wrote: it exists, with no '#h' mark
      await redis.hset(MAP, '#next', '0');
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('gate');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.95.0.0/24' });
      expect(await readMacLayout(redis)).toBe('v1');
      // every way one Redis registers a MAC: a batch (the fast path), one alone, a fixed MAC, replace
      const batch = await Promise.all(
        ['a', 'b', 'c', 'd'].map((owner) => ipam.allocate({ subnet: s, owner })),
      );
      const alone = await ipam.allocate({ subnet: s, owner: 'e' });
      const fixed = await ipam.allocate({ subnet: s, owner: 'f', mac: '02:00:00:95:00:01' });
      const moved = await ipam.replace({ subnet: s, owner: 'd', mac: '02:00:00:95:00:02' });
      const owners = [...batch.slice(0, 3), alone, fixed, moved];
      const all = await redis.hgetall(MAP);
      for (const a of owners) expect(all[`h:${s}/${a.owner}`]).toBe(a.mac);
      expect(all['#h']).toBeUndefined();
      // the Cluster protocol leaves the layout as it is (only the operator switches it)
      await loadCommands(redis).macReserve(...MAC_KEYS, `${s}/cl`, '');
      expect(await redis.hget(MAP, '#h')).toBeNull();
      await loadCommands(redis).macRelease(...MAC_KEYS, `${s}/cl`, '');

      // an older replica releases owners this version allocated: addresses, then the MAC by h:
      for (const a of [batch[0]!, alone]) {
        await loadCommands(redis).release(...subnetKeys(s), a.owner, `${s}/${a.owner}`, '');
        expect(await olderMacRelease(`${s}/${a.owner}`)).toBe(a.mac);
        expect(await macBitSet(a.mac)).toBe(false);
        expect(await redis.hget(MAP, `m:${a.mac}`)).toBeNull();
      }
      expect(await ipam.audit(s)).toEqual([]);

      // every replica runs this version: the operator switches; from then on m:<MAC> only
      expect(await switchMacLayout(redis)).toEqual({ before: 'v1', after: 'v2' });
      expect(await redis.hget(MAP, '#h')).toBe('1');
      const later = await Promise.all(['g', 'h', 'i'].map((owner) => ipam.allocate({ subnet: s, owner })));
      const later1 = await ipam.allocate({ subnet: s, owner: 'j' });
      await ipam.replace({ subnet: s, owner: 'f', mac: '02:00:00:95:00:03' });
      const { h } = await registry(s);
      expect(h.sort()).toEqual([`h:${s}/b`, `h:${s}/c`, `h:${s}/d`]);
      for (const a of [...later, later1]) expect(await macBitSet(a.mac)).toBe(true);
      // the old entries are still read: a repeat answers the held MAC, release frees it
      expect(await ipam.allocate({ subnet: s, owner: 'b' })).toMatchObject({
        mac: batch[1]?.mac,
        created: false,
      });
      expect(await ipam.release(s, 'b')).toBe(true);
      expect(await macBitSet(batch[1]!.mac)).toBe(false);
      expect(await ipam.audit(s)).toEqual([]);
      // switching again changes nothing
      expect(await switchMacLayout(redis)).toEqual({ before: 'v2', after: 'v2' });
      expect(await redis.hget(MAP, '#h')).toBe('1');
    });

    it('a registry this version creates writes no h:<holder> from the start, and stays so when switched', async () => {
      await redis.flushall();
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('new');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.96.0.0/24' });
      await ipam.allocate({ subnet: s, owner: 'first' });
      await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
      await ipam.allocate({ subnet: s, owner: 'f', mac: '02:00:00:96:00:01' });
      await ipam.replace({ subnet: s, owner: 'a', mac: '02:00:00:96:00:02' });
      expect((await registry(s)).h).toEqual([]);
      // v3: m:<MAC> for the two fixed MACs only
      expect((await registry(s)).m).toEqual(
        [`02:00:00:96:00:01 ${s}/f`, `02:00:00:96:00:02 ${s}/a`].sort(),
      );
      expect(await readMacLayout(redis)).toBe('v3');
      // forward only: asked for v2 (the default) or v3, it stays v3
      expect(await switchMacLayout(redis)).toEqual({ before: 'v3', after: 'v3' });
      expect(await switchMacLayout(redis, 'v3')).toEqual({ before: 'v3', after: 'v3' });
      // still '0': no h:<holder> read either
      expect(await redis.hget(MAP, '#h')).toBe('0');
    });

    it('the operator command: npm run audit -- --mac-layout=show|v2|v3 reads and switches the marks, forward only', async () => {
      await redis.flushall();
      await redis.hset(MAP, '#next', '7');
      const audit = (arg: string) =>
        promisify(execFile)(
          'node',
          ['--import', 'tsx', 'infra/local/audit.ts', `--mac-layout=${arg}`, '--redis-url', server.url],
          // only what the command needs: no REDIS_* or stack of the caller's
          { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 30_000 },
        ).then(
          (r) => ({ code: 0, out: r.stdout }),
          (e: { code: number; stdout: string; stderr: string }) => ({
            code: e.code,
            out: e.stdout + e.stderr,
          }),
        );
      // a process each (a few seconds under load): the reads side by side, then the switch
      const [show, bad] = await Promise.all([audit('show'), audit('v4')]);
      expect(show).toEqual({ code: 0, out: 'MAC registry layout: v1\n' });
      expect(bad.code).toBe(2);
      expect(bad.out).toContain('--mac-layout must be show, v2 or v3');
      expect(await redis.hget(MAP, '#h')).toBeNull();
      expect(await audit('v2')).toEqual({ code: 0, out: 'MAC registry layout: v1 -> v2\n' });
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '7', '#h': '1' });
      expect(await audit('v3')).toEqual({ code: 0, out: 'MAC registry layout: v2 -> v3\n' });
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '7', '#h': '1', '#m': '1' });
      // again, or back to v2: no change
      const [again, back] = await Promise.all([audit('v3'), audit('v2')]);
      expect(again).toEqual({ code: 0, out: 'MAC registry layout: v3 already\n' });
      expect(back).toEqual({ code: 0, out: 'MAC registry layout: v3 already\n' });
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '7', '#h': '1', '#m': '1' });
    });
  });
});
