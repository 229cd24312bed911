// Workers entry (wrangler.toml). Workers forbid sharing a socket between requests, so each request
// gets its own Redis connection, closed when the response is done. Bindings: REDIS_URL, API_TOKEN.

import { createPorts } from '../../infra/wiring/redis.ts';
import { readConfig } from '../../shared/config.ts';
import { createApp } from '../app.ts';

interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
}

export default {
  async fetch(
    req: Request,
    env: Record<string, string | undefined>,
    ctx: ExecutionContext,
  ): Promise<Response> {
    const config = readConfig(env);
    const ports = createPorts(config);
    try {
      return await createApp(ports, { apiToken: config.apiToken ?? '' }).fetch(req);
    } finally {
      ctx.waitUntil(ports.close());
    }
  },
};
