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
      expect((await registry(s)).m).toEqual([`02:00:00:96:00:01 ${s}/f`, `02:00:00:96:00:02 ${s}/a`].sort());
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

  describe('layout v3: a dynamic MAC kept by its bit and the record only', () => {
    /** The MAC of bit b of the dynamic space (value b+1). */
    const macOfBit = (b: number) =>
      `00:00:00:${(b + 1)
        .toString(16)
        .toUpperCase()
        .padStart(6, '0')
        .replace(/(..)(..)(..)/, '$1:$2:$3')}`;
    const nextMac = async () => macOfBit(Number((await redis.hget(MAP, '#next')) ?? '0'));

    it('a registry without #m (v2, v1) registers m:<MAC> for every dynamic MAC, batched and alone', async () => {
      for (const mark of ['0', null]) {
        await redis.flushall();
        // an existing registry: v2 ('#h' '0') or one older versions wrote (v1, no mark)
        await redis.hset(MAP, '#next', '0', ...(mark === null ? [] : ['#h', mark]));
        const ipam = createRedisAllocator(redis);
        const s = uniqueName('v2');
        await ipam.registerSubnet({ name: s, cidrBlock: '10.97.0.0/24' });
        const batch = await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
        const alone = await ipam.allocate({ subnet: s, owner: 'd' });
        const all = [...batch, alone];
        expect((await registry(s)).m).toEqual(all.map((a) => `${a.mac} ${s}/${a.owner}`).sort());
        expect(await redis.hget(MAP, '#m')).toBeNull();
        expect(await readMacLayout(redis)).toBe(mark === null ? 'v1' : 'v2');
        expect(await ipam.audit(s)).toEqual([]);
      }
    });

    it('switches v1 -> v3 and v2 -> v3 in one step, idempotent, forward only; then no m:<MAC> for dynamic MACs', async () => {
      await redis.flushall();
      await redis.hset(MAP, '#next', '0');
      expect(await switchMacLayout(redis, 'v3')).toEqual({ before: 'v1', after: 'v3' });
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '0', '#h': '1', '#m': '1' });
      expect(await switchMacLayout(redis, 'v3')).toEqual({ before: 'v3', after: 'v3' });
      expect(await switchMacLayout(redis, 'v2')).toEqual({ before: 'v3', after: 'v3' });
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '0', '#h': '1', '#m': '1' });

      await redis.flushall();
      await redis.hset(MAP, '#next', '0', '#h', '0');
      expect(await switchMacLayout(redis, 'v3')).toEqual({ before: 'v2', after: 'v3' });
      // '#h' '0' stays: no h:<holder> to read
      expect(await redis.hgetall(MAP)).toEqual({ '#next': '0', '#h': '0', '#m': '1' });
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('sw');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.98.0.0/24' });
      const batch = await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
      const alone = await ipam.allocate({ subnet: s, owner: 'd' });
      expect(await registry(s)).toEqual({ h: [], m: [] });
      for (const a of [...batch, alone]) expect(await macBitSet(a.mac)).toBe(true);
      expect(await redis.hget(MAP, '#next')).toBe('4');
      expect(await ipam.audit(s)).toEqual([]);
    });

    it('a fixed MAC equal to a dynamic MAC (no m:<MAC>, its bit set) is refused: alone, in a batch, by replace, on Cluster', async () => {
      await redis.flushall();
      const ipam = createRedisAllocator(redis);
      const cluster = createRedisAllocator(redis, { splitMac: true });
      const s = uniqueName('fx');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.99.0.0/24' });
      const a = await ipam.allocate({ subnet: s, owner: 'a' });
      expect(await redis.hexists(MAP, `m:${a.mac}`)).toBe(0);
      const before = await redis.hgetall(MAP);
      // alone (the general code, direct)
      const e = await ipam.allocate({ subnet: s, owner: 'x', mac: a.mac }).catch((x: unknown) => x);
      expect(e).toMatchObject({ reason: 'MACConflict', details: { field: 'mac' } });
      expect((e as { details: object }).details).not.toHaveProperty('holder');
      expect((e as Error).message).toBe(
        `MAC ${a.mac} is already in use by a reservation that took it dynamically; pick another MAC`,
      );
      // in a batch (the general code, chunks): the MAC held before, and one claimed earlier in it
      const claimedFirst = await nextMac();
      const wave = await Promise.allSettled([
        ipam.allocate({ subnet: s, owner: 'y' }),
        ipam.allocate({ subnet: s, owner: 'z', mac: claimedFirst }),
        ipam.allocate({ subnet: s, owner: 'w', mac: a.mac }),
      ]);
      expect(wave[0]).toMatchObject({ status: 'fulfilled', value: { mac: claimedFirst } });
      expect(wave[1]).toMatchObject({
        status: 'rejected',
        reason: { reason: 'MACConflict', details: { holder: `${s}/y` } },
      });
      expect(wave[2]).toMatchObject({ status: 'rejected', reason: { reason: 'MACConflict' } });
      expect((wave[2] as PromiseRejectedResult).reason.details).toEqual({ field: 'mac' });
      // replace to it, on one Redis and through the Cluster protocol
      expect(await reasonOf(ipam.replace({ subnet: s, owner: 'y', mac: a.mac }))).toBe('MACConflict');
      expect(await reasonOf(cluster.replace({ subnet: s, owner: 'y', mac: a.mac }))).toBe('MACConflict');
      // the Cluster protocol's reserve (macPlan)
      expect(await reasonOf(cluster.allocate({ subnet: s, owner: 'v', mac: a.mac }))).toBe('MACConflict');
      // ... but the owner's own repeat with its MAC goes on, on one Redis and on Cluster
      expect(await ipam.allocate({ subnet: s, owner: 'a', mac: a.mac })).toMatchObject({ created: false });
      expect(await cluster.allocate({ subnet: s, owner: 'a', mac: a.mac })).toMatchObject({ created: false });
      // nothing changed but y's MAC (its bit) and the cursor
      const after = await redis.hgetall(MAP);
      expect({ ...after, '#next': before['#next'] }).toEqual(before);
      expect(await registry(s)).toEqual({ h: [], m: [] });
      expect(await ipam.list(s).then((p) => p.items.map((r) => r.owner))).toEqual(['a', 'y']);
      expect(await ipam.audit(s)).toEqual([]);
    });

    it('release and replace free a dynamic MAC by its bit; a mixed registry (m: from v2 days) releases both kinds', async () => {
      await redis.flushall();
      await redis.hset(MAP, '#next', '0', '#h', '0');
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('mix');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.100.0.0/24' });
      // v2 days: m:<MAC> for every MAC
      const old = await Promise.all(['o1', 'o2', 'o3'].map((owner) => ipam.allocate({ subnet: s, owner })));
      expect((await registry(s)).m).toHaveLength(3);
      await switchMacLayout(redis, 'v3');
      const fresh = await Promise.all(['n1', 'n2', 'n3'].map((owner) => ipam.allocate({ subnet: s, owner })));
      expect((await registry(s)).m).toHaveLength(3);
      expect(await ipam.audit(s)).toEqual([]);
      // release: one of each kind
      expect(await ipam.release(s, 'o1')).toBe(true);
      expect(await ipam.release(s, 'n1')).toBe(true);
      for (const a of [old[0]!, fresh[0]!]) expect(await macBitSet(a.mac)).toBe(false);
      // replace to a fixed MAC: one of each kind
      await ipam.replace({ subnet: s, owner: 'o2', mac: '02:00:00:a0:00:01' });
      await ipam.replace({ subnet: s, owner: 'n2', mac: '02:00:00:a0:00:02' });
      for (const a of [old[1]!, fresh[1]!]) expect(await macBitSet(a.mac)).toBe(false);
      for (const a of [old[2]!, fresh[2]!]) expect(await macBitSet(a.mac)).toBe(true);
      expect(await registry(s)).toEqual({
        h: [],
        m: [`${old[2]!.mac} ${s}/o3`, `02:00:00:A0:00:01 ${s}/o2`, `02:00:00:A0:00:02 ${s}/n2`].sort(),
      });
      expect(await ipam.audit(s)).toEqual([]);
      // a freed MAC is free for a fixed request, and comes round again from the cursor
      expect(await ipam.allocate({ subnet: s, owner: 'f', mac: fresh[0]!.mac })).toMatchObject({
        mac: fresh[0]!.mac,
        created: true,
      });
      await redis.hset(MAP, '#next', Number.parseInt(fresh[1]!.mac.slice(9).replaceAll(':', ''), 16) - 1);
      expect(await ipam.allocate({ subnet: s, owner: 'g' })).toMatchObject({ mac: fresh[1]!.mac });
      // a release through the Cluster protocol (data moved) frees a dynamic MAC by the record too
      const cluster = createRedisAllocator(redis, { splitMac: true });
      expect(await cluster.release(s, 'n3')).toBe(true);
      expect(await macBitSet(fresh[2]!.mac)).toBe(false);
      expect(await ipam.audit(s)).toEqual([]);
    });

    it('a v2 registry: a record MAC with no m:<MAC> is not freed by its bit (its holder is unknown)', async () => {
      await redis.flushall();
      await redis.hset(MAP, '#next', '0', '#h', '0');
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('v2rel');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.101.0.0/24' });
      const a = await ipam.allocate({ subnet: s, owner: 'a' });
      // m:<MAC> names another holder: the bit is the other's
      await redis.hset(MAP, `m:${a.mac}`, `${s}/other`);
      expect(await ipam.release(s, 'a')).toBe(true);
      expect(await macBitSet(a.mac)).toBe(true);
      expect(await redis.hget(MAP, `m:${a.mac}`)).toBe(`${s}/other`);
      // no m:<MAC> at all, in v2: left as is (the audit shows it)
      const b = await ipam.allocate({ subnet: s, owner: 'b' });
      await redis.hdel(MAP, `m:${b.mac}`);
      expect(await ipam.release(s, 'b')).toBe(true);
      expect(await macBitSet(b.mac)).toBe(true);
    });

    it('the audit: clean on v3 data; reports a cleared bit and a MAC two records hold', async () => {
      await redis.flushall();
      const ipam = createRedisAllocator(redis);
      const s = uniqueName('aud');
      await ipam.registerSubnet({ name: s, cidrBlock: '10.102.0.0/24' });
      const held = await Promise.all(['a', 'b', 'c'].map((owner) => ipam.allocate({ subnet: s, owner })));
      await ipam.allocate({ subnet: s, owner: 'f', mac: '02:00:00:a2:00:01' });
      expect(await ipam.audit(s)).toEqual([]);
      // a's bit cleared behind its back: the MAC could be handed out again
      await redis.setbit(USED, Number.parseInt(held[0]!.mac.slice(9).replaceAll(':', ''), 16) - 1, 0);
      const found = await ipam.audit(s);
      expect(found).toEqual([
        {
          kind: 'mac',
          message: `${s}/a records MAC ${held[0]!.mac}, which is neither registered nor marked in use (its bit is clear)`,
        },
      ]);
      await redis.setbit(USED, Number.parseInt(held[0]!.mac.slice(9).replaceAll(':', ''), 16) - 1, 1);
      // c's record names b's MAC (both bits set, no m:<MAC>): the records are compared
      const rec = (await redis.hget(`{ipam:${s}}:state`, 'o:c'))!;
      await redis.hset(`{ipam:${s}}:state`, 'o:c', rec.replace(held[2]!.mac, held[1]!.mac));
      expect(await ipam.audit(s)).toEqual([{ kind: 'mac', message: `MAC ${held[1]!.mac} is held by b, c` }]);
    });
  });
});
