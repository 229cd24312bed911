// The ownership boundary of the manual reservation API (SPEC §6), over HTTP against real Redis.
// The subnet is registered the way the Subnet reconciler registers it (managedBy kubernetes); the
// API must never change or delete it, nor touch a Kubernetes-side owner's reservation, and must
// change nothing when it refuses. Manual owners may reserve inside it, through the same allocator.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../functions/app.ts';
import { type Allocator, createRedisAllocator } from '../../shared/ipam/index.ts';

const TOKEN = 'ownership-token';
let redis: Redis;
let allocator: Allocator;
let app: ReturnType<typeof createApp>;
const K8S = `own-k8s-${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  allocator = createRedisAllocator(redis);
  app = createApp({ allocator }, { apiToken: TOKEN });
  await allocator.registerSubnet(
    { name: K8S, cidrBlock: '10.90.0.0/24', gateway: '10.90.0.1' },
    { managedBy: 'kubernetes' },
  );
  await allocator.allocate({ subnet: K8S, owner: 'vip/a' }); // 10.90.0.2
  await allocator.allocate({ subnet: K8S, owner: 'pod/p.default' }); // 10.90.0.3
  // an owner kind the Kubernetes side might add one day: protected all the same
  await allocator.allocate({ subnet: K8S, owner: 'ippool/x' }); // 10.90.0.4
});
afterAll(async () => {
  await allocator.deleteSubnet(K8S, { force: true, managedBy: 'kubernetes' }).catch(() => undefined);
  redis.disconnect();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};

/** Everything stored for the subnet: the state hash and the owner index. */
const snapshot = async () => ({
  state: await redis.hgetall(`{ipam:${K8S}}:state`),
  idx: await redis.zrange(`{ipam:${K8S}}:idx`, '0', '-1'),
});

describe('a Kubernetes-managed subnet through the manual API', () => {
  it('every write on the subnet or a Kubernetes owner answers 409 ManagedByKubernetes and changes nothing', async () => {
    const before = await snapshot();
    const attempts: [string, string, unknown?][] = [
      // the reproduced attack: re-register with another gateway
      ['POST', '/v1/subnets', { name: K8S, cidrBlock: '10.90.0.0/24', gateway: '10.90.0.200' }],
      ['POST', '/v1/subnets', { name: K8S, cidrBlock: '10.90.0.0/24', gateway: '10.90.0.1' }],
      ['POST', '/v1/subnets', { name: K8S, cidrBlock: '10.90.0.0/24', excludeIps: ['10.90.0.2..10.90.0.9'] }],
      ['DELETE', `/v1/subnets/${K8S}`],
      ['DELETE', `/v1/subnets/${K8S}?force=true`],
      ['DELETE', `/v1/subnets/${K8S}/reservations/vip%2Fa`],
      ['DELETE', `/v1/subnets/${K8S}/reservations/pod%2Fp.default`],
      ['DELETE', `/v1/subnets/${K8S}/reservations/ippool%2Fx`],
      ['DELETE', `/v1/subnets/${K8S}/reservations/vip%2Fnot-yet`],
      ['POST', `/v1/subnets/${K8S}/reservations`, { owner: 'vip/a' }],
      ['POST', `/v1/subnets/${K8S}/reservations`, { owner: 'vip/a', v4ip: '10.90.0.200' }],
      ['POST', `/v1/subnets/${K8S}/reservations`, { owner: 'vip/new' }],
      ['POST', `/v1/subnets/${K8S}/reservations`, { owner: 'pod/q.default' }],
      ['POST', `/v1/subnets/${K8S}/reservations`, { owner: 'ippool/x' }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await call(method, path, body);
      expect([method, path, r.status, r.body?.reason]).toEqual([method, path, 409, 'ManagedByKubernetes']);
      expect(r.body.message).toMatch(/Kubernetes/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('reads stay open to every owner, and say who manages what', async () => {
    const subnet = await call('GET', `/v1/subnets/${K8S}`);
    expect(subnet).toMatchObject({ status: 200, body: { gateway: '10.90.0.1', managedBy: 'kubernetes' } });
    const vip = await call('GET', `/v1/subnets/${K8S}/reservations/vip%2Fa`);
    expect(vip).toMatchObject({
      status: 200,
      body: { owner: 'vip/a', v4ip: '10.90.0.2', managedBy: 'kubernetes' },
    });
    const list = await call('GET', `/v1/subnets/${K8S}/reservations`);
    expect(
      list.body.items.map((r: { owner: string; managedBy: string }) => `${r.owner} ${r.managedBy}`),
    ).toEqual(['ippool/x kubernetes', 'pod/p.default kubernetes', 'vip/a kubernetes']);
  });

  it('manual owners may reserve inside it: same allocator, never the gateway nor a held address, counted', async () => {
    const using = (await call('GET', `/v1/subnets/${K8S}`)).body.status.v4usingIPs as number;
    const web = await call('POST', `/v1/subnets/${K8S}/reservations`, { owner: 'lb/web' });
    expect(web).toMatchObject({
      status: 201,
      body: { owner: 'lb/web', v4ip: '10.90.0.5', managedBy: 'manual' },
    });
    expect((await call('GET', `/v1/subnets/${K8S}`)).body.status.v4usingIPs).toBe(using + 1);

    const gw = await call('POST', `/v1/subnets/${K8S}/reservations`, { owner: 'lb/gw', v4ip: '10.90.0.1' });
    expect(gw).toMatchObject({
      status: 409,
      body: { reason: 'AddressConflict', details: { holder: 'gateway' } },
    });
    const onVip = await call('POST', `/v1/subnets/${K8S}/reservations`, { owner: 'lb/x', v4ip: '10.90.0.2' });
    expect(onVip).toMatchObject({
      status: 409,
      body: { reason: 'AddressConflict', details: { holder: 'vip/a', holderManagedBy: 'kubernetes' } },
    });
    // a name that reads like the manual namespace itself is just a name
    const odd = await call('POST', `/v1/subnets/${K8S}/reservations`, { owner: 'manual/vip/a' });
    expect(odd).toMatchObject({ status: 201, body: { owner: 'manual/vip/a', managedBy: 'manual' } });
    // stored in the manual namespace, where no Kubernetes owner can be
    expect(await allocator.get(K8S, 'manual/lb/web')).toMatchObject({ v4: '10.90.0.5' });

    expect((await call('DELETE', `/v1/subnets/${K8S}/reservations/lb%2Fweb`)).body).toEqual({
      released: true,
    });
    expect((await call('DELETE', `/v1/subnets/${K8S}/reservations/manual%2Fvip%2Fa`)).body).toEqual({
      released: true,
    });
    expect(await allocator.get(K8S, 'vip/a')).toMatchObject({ v4: '10.90.0.2' });
    expect(await allocator.audit(K8S)).toEqual([]);
  });
});
