import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { nbctl, startRedis } from '../../infra/local/services.ts';

describe('test services', () => {
  it('gives every test file a real Redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  it('gives every test file a real OVN NB ovsdb-server', async () => {
    const out = await nbctl(inject('nbRemote'), 'get-connection');
    expect(out).toBe('');
    expect(await nbctl(inject('nbRemote'), '--version')).toMatch(/ovn-nbctl/);
  });

  it('keeps Redis data across a restart when AOF is on', async () => {
    const server = await startRedis({ appendonly: true });
    const a = new Redis(server.url);
    await a.set('k', 'v');
    await a.call('CONFIG', 'SET', 'appendfsync', 'always');
    await a.set('k2', 'v2');
    a.disconnect();
    const again = await server.restart({ signal: 'SIGKILL' });
    const b = new Redis(again.url);
    expect(await b.get('k2')).toBe('v2');
    b.disconnect();
    await again.stop();
  });
});
