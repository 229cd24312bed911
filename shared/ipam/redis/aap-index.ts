// The AAP parent index in Redis (the port is shared/reconcile/deps.ts AapIndexPort; why it is
// complete, shared/reconcile/aap-index.ts). Every key shares one hash tag (keys.ts aapIndexTag),
// so a pipeline or script over several Vips' hashes stays on one Cluster node.
import type { Cluster, Redis } from 'ioredis';
import { indexToken, type NamingPod, tokenPrefixOf } from '../../domain/aap.ts';
import type { AapIndexPort } from '../../reconcile/deps.ts';
import { aapCompleteKey, aapNamedKey } from './keys.ts';

// A pod recorded under each Vip of KEYS: a new token (ARGV[3]) unless the one there is this same
// pod's (its prefix ARGV[2], "<uid>/"): a redelivered event, or a later one, writes nothing.
const ADD = `
for i = 1, #KEYS do
  local v = redis.call('HGET', KEYS[i], ARGV[1])
  if not v or string.sub(v, 1, #ARGV[2]) ~= ARGV[2] then redis.call('HSET', KEYS[i], ARGV[1], ARGV[3]) end
end
return 0`;

// Compare-and-delete: a member goes only if nothing was written to it since it was read.
const FORGET = `
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return n`;

// A deleted pod: gone from each hash where its token carries its uid (ARGV[2] is "<uid>/").
const FORGET_POD = `
for i = 1, #KEYS do
  local v = redis.call('HGET', KEYS[i], ARGV[1])
  if v and string.sub(v, 1, #ARGV[2]) == ARGV[2] then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 0`;

/** Pods (or pairs) per pipeline in the bulk calls (a rebuild, the audit). */
const CHUNK = 1_000;

// The scripts as commands (EVALSHA, as the allocator's: commands.ts); their first argument is the
// number of keys, which varies with the Vips a pod names.
type Script = (numKeys: number, ...args: string[]) => Promise<unknown>;
interface AapIndexScripts {
  aapIndexAdd: Script;
  aapIndexForget: Script;
  aapIndexForgetPod: Script;
}

export function createRedisAapIndex(client: Redis | Cluster, opts: { scope?: string } = {}): AapIndexPort {
  client.defineCommand('aapIndexAdd', { lua: ADD });
  client.defineCommand('aapIndexForget', { lua: FORGET });
  client.defineCommand('aapIndexForgetPod', { lua: FORGET_POD });
  const redis = client as (Redis | Cluster) & AapIndexScripts;
  const scope = opts.scope ?? '';
  const named = (ns: string, vip: string) => aapNamedKey(scope, ns, vip);
  const complete = aapCompleteKey(scope);
  const chunks = <T>(items: readonly T[]) =>
    Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) =>
      items.slice(i * CHUNK, (i + 1) * CHUNK),
    );
  const run = async (p: ReturnType<Redis['pipeline']>) => {
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
  };
  return {
    async read(namespace, vip) {
      const replies = (await redis.pipeline().exists(complete).hgetall(named(namespace, vip)).exec()) ?? [];
      for (const [err] of replies) if (err) throw err;
      const members = (replies[1]?.[1] ?? {}) as Record<string, string>;
      return { complete: replies[0]?.[1] === 1, members: new Map(Object.entries(members)) };
    },
    async add(pods) {
      for (const chunk of chunks(pods)) {
        const p = redis.pipeline();
        for (const pod of chunk) {
          const keys = pod.vips.map((vip) => named(pod.namespace, vip));
          if (keys.length === 0) continue;
          (p as unknown as AapIndexScripts).aapIndexAdd(
            keys.length,
            ...keys,
            pod.name,
            tokenPrefixOf(pod.uid),
            indexToken(pod, crypto.randomUUID()),
          );
        }
        await run(p);
      }
    },
    async forget(namespace, vip, members) {
      if (members.length === 0) return 0;
      const args = members.flatMap((m) => [m.name, m.token]);
      return Number(await redis.aapIndexForget(1, named(namespace, vip), ...args));
    },
    async forgetPod(pod: NamingPod) {
      if (pod.vips.length === 0) return;
      const keys = pod.vips.map((v) => named(pod.namespace, v));
      await redis.aapIndexForgetPod(keys.length, ...keys, pod.name, tokenPrefixOf(pod.uid));
    },
    async isComplete() {
      return (await redis.exists(complete)) === 1;
    },
    async markComplete() {
      await redis.set(complete, new Date().toISOString());
    },
    async missing(pods) {
      const pairs = pods.flatMap((p) => p.vips.map((vip) => ({ namespace: p.namespace, name: p.name, vip })));
      const out: { namespace: string; name: string; vip: string }[] = [];
      for (const chunk of chunks(pairs)) {
        const p = redis.pipeline();
        for (const x of chunk) p.hexists(named(x.namespace, x.vip), x.name);
        const replies = (await p.exec()) ?? [];
        replies.forEach(([err, held], i) => {
          if (err) throw err;
          if (held !== 1) out.push(chunk[i]!);
        });
      }
      return out;
    },
  };
}
