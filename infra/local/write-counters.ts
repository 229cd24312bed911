// Counts the writes a window of work caused in each store of a local stack, and reads the memory
// each process holds. Used by the scaling curve (bench/curve.bench.ts) and the zero-writes test of
// a relay restart: every handler is level-triggered, so re-delivering unchanged objects must
// write nothing anywhere.
//   API server: every request that is not a GET (watches excluded), by shape.
//   Redis: `rdb_changes_since_last_save` (the server's dirty counter: every write command that
//          changed, or claimed to change, a key, scripts' writes included; nothing saves here).
//   NB: records the ovsdb-server appended to its database log (one per committed transaction
//       that changed something), read from the file after a compaction made it a snapshot.

import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import type { DevApiServer } from '../dev-apiserver/index.ts';

const run = promisify(execFile);

/** `PATCH /apis/kubeovn.io/v1/vips/*\/status`: a request's shape without object names. */
export function requestShape(req: Pick<IncomingMessage, 'method' | 'url'>): string {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const parts = path.split('/');
  const api = parts[1] === 'api' ? 3 : 4; // /api/v1/... or /apis/group/version/...
  for (let i = 1; i < parts.length; i++) if (parts[i - 1] === 'namespaces') parts[i] = '*';
  const start = parts[api] === 'namespaces' ? api + 2 : api;
  if (parts.length > start + 1) parts[start + 1] = '*';
  return `${req.method} ${parts.join('/')}`;
}

export interface ApiWriteCounter {
  readonly total: number;
  readonly byShape: ReadonlyMap<string, number>;
  reset(): void;
  /** Stops counting (the hook it chained to stays). */
  detach(): void;
}

/** Counts the API server's write requests from now on (chains any onRequest hook already set). */
export function countApiWrites(apiServer: Pick<DevApiServer, 'api'>): ApiWriteCounter {
  return countRequests(apiServer, (req) => req.method !== 'GET');
}

/**
 * Counts every request the API server answers from now on, reads included, by shape:
 * `GET /api/v1/namespaces/*\/pods` is a LIST of one namespace's pods, `.../pods/*` a GET of one.
 */
export function countApiRequests(apiServer: Pick<DevApiServer, 'api'>): ApiWriteCounter {
  return countRequests(apiServer, () => true);
}

/** Watches are never counted: they are long-lived streams, not requests of a unit of work. */
function countRequests(
  apiServer: Pick<DevApiServer, 'api'>,
  keep: (req: Pick<IncomingMessage, 'method' | 'url'>) => boolean,
): ApiWriteCounter {
  const byShape = new Map<string, number>();
  let total = 0;
  let on = true;
  const before = apiServer.api.onRequest;
  apiServer.api.onRequest = (req) => {
    before?.(req);
    if (!on || (req.url ?? '').includes('watch=true') || !keep(req)) return;
    total++;
    const shape = requestShape(req);
    byShape.set(shape, (byShape.get(shape) ?? 0) + 1);
  };
  return {
    get total() {
      return total;
    },
    byShape,
    reset() {
      total = 0;
      byShape.clear();
    },
    detach() {
      on = false;
    },
  };
}

/** Redis's dirty counter: writes since the last save (the stack's Redis never saves an RDB). */
export async function redisWrites(redis: Pick<Redis, 'info'>): Promise<number> {
  const info = await redis.info('persistence');
  const m = /rdb_changes_since_last_save:(\d+)/.exec(info);
  if (!m) throw new Error('INFO persistence has no rdb_changes_since_last_save');
  return Number(m[1]);
}

/** Calls and microseconds per command so far (INFO commandstats; a script's own calls count too). */
export async function redisCommandStats(
  redis: Pick<Redis, 'info'>,
): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

/** Redis INFO memory's used_memory, in bytes. */
export async function redisUsedMemory(redis: Pick<Redis, 'info'>): Promise<number> {
  const m = /used_memory:(\d+)/.exec(await redis.info('memory'));
  return m ? Number(m[1]) : Number.NaN;
}

/** Rewrites the NB database file as one snapshot (ovs-appctl ovsdb-server/compact). */
export async function compactNb(ctl: string): Promise<void> {
  await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/compact'], { timeout: 120_000 });
}

/** ovsdb-server's own account of its memory (`memory/show`), e.g. `{ cells: 123, atoms: 456 }`. */
export async function nbMemory(ctl: string): Promise<Record<string, number>> {
  const { stdout } = await run('ovs-appctl', ['-t', ctl, 'memory/show'], { timeout: 30_000 });
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/([a-z-]+):(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

const RECORD = 'OVSDB JSON ';

/** Where the NB log ends now, to count the commits appended after it (see nbCommitsSince). */
export function nbLogMark(dbFile: string): number {
  return statSync(dbFile).size;
}

/**
 * Transactions ovsdb-server committed to its log since `mark` (each a record headed
 * `OVSDB JSON <length> <hash>`). NaN when the file shrank: a compaction in between rewrote it.
 */
export function nbCommitsSince(dbFile: string, mark: number): number {
  const size = statSync(dbFile).size;
  if (size < mark) return Number.NaN;
  if (size === mark) return 0;
  const fd = openSync(dbFile, 'r');
  try {
    const buf = Buffer.alloc(size - mark);
    readSync(fd, buf, 0, buf.length, mark);
    const text = buf.toString('latin1');
    let n = 0;
    for (let i = text.indexOf(RECORD); i !== -1; i = text.indexOf(RECORD, i + RECORD.length)) n++;
    return n;
  } finally {
    closeSync(fd);
  }
}

/** Resident memory of a process in bytes (VmRSS), or NaN when it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident memory of a process in bytes (VmHWM), or NaN when it is gone. */
export function peakRssOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One metric's value summed over its series in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Reads a `/metrics` page and sums the named metrics (0 for a page that does not answer). */
export async function scrape(url: string, names: readonly string[]): Promise<Record<string, number>> {
  const text = await fetch(url)
    .then((r) => (r.ok ? r.text() : ''))
    .catch(() => '');
  return Object.fromEntries(names.map((n) => [n, metricSum(text, n)]));
}

export interface RelayProgress {
  /** Events queued since the relay started (list and watch). */
  received: number;
  delivered: number;
  /** Events waiting, in flight included. */
  depth: number;
  /** Listed objects not delivered because the relay's settled-version store says they were handled. */
  skipped: number;
}

export async function relayProgress(healthUrl: string): Promise<RelayProgress> {
  const m = await scrape(`${healthUrl}/metrics`, [
    'vip_relay_events_received_total',
    'vip_relay_events_delivered_total',
    'vip_relay_queue_depth',
    'vip_relay_settled_skipped_total',
  ]);
  return {
    received: m.vip_relay_events_received_total ?? 0,
    delivered: m.vip_relay_events_delivered_total ?? 0,
    depth: m.vip_relay_queue_depth ?? 0,
    skipped: m.vip_relay_settled_skipped_total ?? 0,
  };
}

/**
 * Waits until the relay has queued or skipped (already settled) at least `objects` events (its
 * lists) and none is left waiting or in flight: every object handled. Resolves with the relay's
 * counts then.
 */
export async function relayDrained(
  healthUrl: string,
  objects: number,
  opts: { timeoutMs?: number; onTick?: (p: RelayProgress) => void } = {},
): Promise<RelayProgress> {
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  let ticks = 0;
  for (;;) {
    const p = await relayProgress(healthUrl);
    if (p.received + p.skipped >= objects && p.depth === 0) return p;
    if (Date.now() > deadline)
      throw new Error(`relay not drained: ${JSON.stringify(p)}, expected ${objects} events`);
    if (++ticks % 20 === 0) opts.onTick?.(p);
    await new Promise((r) => setTimeout(r, 100));
  }
}
