// Where the settled-version record (settled.ts) outlives a relay: one Redis hash per kind, field
// `namespace/name` (or `name`), value the resourceVersion. A new relay (another node after a leader
// election included) reads it with HSCAN before its first lists. Writes are batched: the record's
// changes are flushed as one pipeline every `flushMs`, so an event costs the hot path a Map write.
// The store is an optimisation, never a source of truth: when Redis is unreachable the relay logs
// it once and works as without a store (a load that fails means a full first list; a write that
// fails is kept and tried again at the next flush).
import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, silentLogger } from './logger.ts';
import type { SettledVersions } from './settled.ts';

export const DEFAULT_STATE_PREFIX = 'vip-relay:';

/**
 * The hash of one kind. The `{kind}` hash tag keeps a kind's fields in one Redis Cluster slot (a
 * hash is one key anyway; the tag also keeps a kind's key beside its other keys, should any come).
 */
export const settledHashKey = (prefix: string, kind: string) => `${prefix}settled:{${kind}}`;

export interface SettledStoreStats {
  /** Entries read at the start. */
  loaded: number;
  loadErrors: number;
  /** Fields written or removed. */
  writes: number;
  writeErrors: number;
  /** Changes not yet written (Redis down, or waiting for the next flush). */
  unwritten: number;
}

export interface SettledStore {
  /** Reads every kind's hash into `into`. Never throws: a failure is logged and counted. */
  load(kinds: readonly string[], into: SettledVersions): Promise<{ ok: boolean; loaded: number }>;
  /** Flushes `versions`' changes every `flushMs` from now on. */
  start(versions: SettledVersions): void;
  /** Writes the pending changes now (a flush in progress is waited for). */
  flush(): Promise<void>;
  stats(): SettledStoreStats;
  /** A last flush (bounded), then the connection is closed. */
  close(): Promise<void>;
}

export interface SettledStoreOptions {
  url: string;
  password?: string;
  prefix?: string;
  flushMs?: number;
  /** Fields per HSET/HDEL command at most. */
  chunk?: number;
  /** How long the start waits for Redis at most (connect and read). Default 20 s. */
  loadTimeoutMs?: number;
  logger?: Logger;
}

const fieldOf = (key: string) => key.slice(key.indexOf(':') + 1);
const kindOf = (key: string) => key.slice(0, key.indexOf(':'));

export function createSettledStore(opts: SettledStoreOptions): SettledStore {
  const log = opts.logger ?? silentLogger;
  const prefix = opts.prefix ?? DEFAULT_STATE_PREFIX;
  const chunk = opts.chunk ?? 1000;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    // Fail at once while disconnected (the changes stay for the next flush) rather than queue.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    ...(opts.password ? { password: opts.password } : {}),
  };
  const redis = new Redis(opts.url, redisOptions);
  // ioredis reports every failed reconnect; the store logs one line per outage itself.
  redis.on('error', () => {});
  const counts = { loaded: 0, loadErrors: 0, writes: 0, writeErrors: 0 };
  let versions: SettledVersions | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let flushing: Promise<void> | undefined;
  let writeFailing = false;
  let closed = false;

  const connected = (timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      const t = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(t);
        redis.off('ready', onReady);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      redis.once('ready', onReady);
      if (redis.status === 'wait') redis.connect().catch((err: Error) => done(err));
    });

  async function load(kinds: readonly string[], into: SettledVersions) {
    const started = Date.now();
    const budget = opts.loadTimeoutMs ?? 20_000;
    let loaded = 0;
    try {
      await connected(budget);
      for (const kind of kinds) {
        const hash = settledHashKey(prefix, kind);
        let cursor = '0';
        do {
          if (Date.now() - started > budget) throw new Error(`reading took over ${budget} ms`);
          const [next, flat] = await redis.hscan(hash, cursor, 'COUNT', 1000);
          for (let i = 0; i + 1 < flat.length; i += 2) {
            into.load(`${kind}:${flat[i]}`, flat[i + 1]!);
            loaded++;
          }
          cursor = next;
        } while (cursor !== '0');
      }
      counts.loaded += loaded;
      log.info(
        { loaded, ms: Date.now() - started },
        'settled versions read: unchanged objects are not re-delivered',
      );
      return { ok: true, loaded };
    } catch (err) {
      // What was read is still right (a subset of the record only means more deliveries).
      counts.loaded += loaded;
      counts.loadErrors++;
      log.warn(
        { err: (err as Error).message, loaded },
        'settled-version store unreadable; delivering every listed object not read from it',
      );
      return { ok: false, loaded };
    }
  }

  async function write(changes: Map<string, string | null>): Promise<void> {
    const sets = new Map<string, string[]>();
    const dels = new Map<string, string[]>();
    for (const [key, rv] of changes) {
      const hash = settledHashKey(prefix, kindOf(key));
      const into = rv === null ? dels : sets;
      const list = into.get(hash) ?? [];
      if (list.length === 0) into.set(hash, list);
      if (rv === null) list.push(fieldOf(key));
      else list.push(fieldOf(key), rv);
    }
    const pipeline = redis.pipeline();
    for (const [hash, flat] of sets) {
      for (let i = 0; i < flat.length; i += chunk * 2) pipeline.hset(hash, ...flat.slice(i, i + chunk * 2));
    }
    for (const [hash, fields] of dels) {
      for (let i = 0; i < fields.length; i += chunk) pipeline.hdel(hash, ...fields.slice(i, i + chunk));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (!results || failed) throw failed ?? new Error('pipeline not run');
  }

  function flush(): Promise<void> {
    if (flushing) return flushing.then(() => (versions?.pendingChanges ? flush() : undefined));
    if (!versions || versions.pendingChanges === 0) return Promise.resolve();
    const v = versions;
    const changes = v.takeChanges();
    flushing = write(changes)
      .then(() => {
        counts.writes += changes.size;
        if (writeFailing) log.info({}, 'settled-version store written again');
        writeFailing = false;
      })
      .catch((err: Error) => {
        v.restoreChanges(changes);
        counts.writeErrors++;
        if (!writeFailing) {
          log.warn(
            { err: err.message, unwritten: v.pendingChanges },
            'settled-version store not written; kept and tried again (logged once until it works)',
          );
        }
        writeFailing = true;
      })
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  }

  return {
    load,
    start(v) {
      versions = v;
      timer ??= setInterval(() => void flush(), opts.flushMs ?? 200);
      timer.unref();
    },
    flush,
    stats: () => ({ ...counts, unwritten: versions?.pendingChanges ?? 0 }),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      if (redis.status === 'ready') {
        await Promise.race([flush(), new Promise((r) => setTimeout(r, 2_000).unref())]);
      }
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
