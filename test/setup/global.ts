// One real Redis and one real OVN NB ovsdb-server for the whole run, on free ports in a temp dir.
// Tests that restart or kill servers start their own (infra/local/services.ts).
import type { TestProject } from 'vitest/node';
import { type OvsdbServer, type RedisServer, startNbServer, startRedis } from '../../infra/local/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    nbRemote: string;
  }
}

let redis: RedisServer | undefined;
let nb: OvsdbServer | undefined;

export async function setup(project: TestProject) {
  [redis, nb] = await Promise.all([startRedis(), startNbServer()]);
  project.provide('redisUrl', redis.url);
  project.provide('nbRemote', nb.remote);
}

export async function teardown() {
  await Promise.all([redis?.stop(), nb?.stop()]);
}
