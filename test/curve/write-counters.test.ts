// The instruments of the zero-writes test and the curve count what they claim to: an NB commit
// shows in the database log after a compaction, a transaction that commits nothing does not, a
// Redis write moves the dirty counter, and API reads are not counted as writes.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type OvsdbServer, type RedisServer, startNbServer, startRedis } from '../../infra/local/services.ts';
import {
  compactNb,
  nbCommitsSince,
  nbLogMark,
  redisWrites,
  requestShape,
} from '../../infra/local/write-counters.ts';
import { NorthboundWriter } from '../../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../../shared/ovsdb/index.ts';

let nb: OvsdbServer;
let redisServer: RedisServer;
beforeAll(async () => {
  [nb, redisServer] = await Promise.all([startNbServer(), startRedis()]);
});
afterAll(async () => {
  await Promise.all([nb?.stop(), redisServer?.stop()]);
});

it('counts NB commits since a mark, and not a transaction that changes nothing', async () => {
  const client = await OvsdbClient.connect({ remotes: [nb.remote], database: 'OVN_Northbound' });
  try {
    const writer = new NorthboundWriter(client);
    const ls = `wc-${randomUUID().slice(0, 8)}`;
    await writer.ensureLogicalSwitch({ name: ls, cidrBlock: '10.30.0.0/16' });
    await compactNb(nb.ctl);
    const mark = nbLogMark(nb.dbFile);
    expect(nbCommitsSince(nb.dbFile, mark)).toBe(0);
    const port = { switchName: ls, mac: '00:00:00:aa:bb:05', ips: ['10.30.0.5'], pod: 'p', namespace: 'n' };
    await writer.ensurePort({ ...port, name: 'a' });
    await writer.ensurePort({ ...port, name: 'b', ips: ['10.30.0.6'] });
    expect(nbCommitsSince(nb.dbFile, mark)).toBe(2);
    // The same port again, and a select: nothing committed.
    await writer.ensurePort({ ...port, name: 'a' });
    await writer.listPorts();
    expect(nbCommitsSince(nb.dbFile, mark)).toBe(2);
  } finally {
    client.close();
  }
});

it('counts Redis writes by the dirty counter, not reads', async () => {
  const redis = new Redis(redisServer.url);
  try {
    const before = await redisWrites(redis);
    await redis.get('k');
    expect(await redisWrites(redis)).toBe(before);
    await redis.set('k', 'v');
    await redis.hset('h', 'f', '1');
    expect((await redisWrites(redis)) - before).toBe(2);
  } finally {
    redis.disconnect();
  }
});

it('names a request by its shape, without object names', () => {
  expect(requestShape({ method: 'PATCH', url: '/apis/kubeovn.io/v1/vips/v-1/status' })).toBe(
    'PATCH /apis/kubeovn.io/v1/vips/*/status',
  );
  expect(requestShape({ method: 'POST', url: '/api/v1/namespaces/ns-a/pods?x=1' })).toBe(
    'POST /api/v1/namespaces/*/pods',
  );
  expect(requestShape({ method: 'PATCH', url: '/api/v1/namespaces/ns-a/pods/p-1' })).toBe(
    'PATCH /api/v1/namespaces/*/pods/*',
  );
});
