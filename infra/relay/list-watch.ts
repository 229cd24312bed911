// List, then watch from the list's resourceVersion, for one resource type. Relists on 410 Gone and
// on the resync timer (emitting current state both times), re-watches from the last seen version
// after a dropped connection with a jittered backoff, and skips a type the server does not serve.
import { type BackoffPolicy, backoffDelay, type Delay, realDelay, WATCH_BACKOFF } from './backoff.ts';
import {
  applyList,
  applyWatchEvent,
  type ChangeEvent,
  type KubeObject,
  keyOf,
  type ObjectCache,
  withTypeMeta,
} from './cache.ts';
import type { KubeTransport, WatchEnd } from './kube-transport.ts';
import { type Logger, silentLogger } from './logger.ts';
import { apiVersionOf, collectionPath, type ResourceType, resourceName } from './resources.ts';
import { relistWithSettled, type SettledVersions } from './settled.ts';

export interface ListWatchOptions {
  transport: KubeTransport;
  resource: ResourceType;
  onEvents: (events: ChangeEvent[]) => void;
  /** Relist this often (0 = never); a relist re-emits every object. */
  resyncMs?: number;
  /** Server-side watch timeout; the relay re-watches when it ends. */
  watchTimeoutSeconds?: number;
  backoff?: BackoffPolicy;
  /** How long to wait before asking again for a resource type the server does not serve. */
  missingRetryMs?: number;
  delay?: Delay;
  random?: () => number;
  logger?: Logger;
  /**
   * The settled-version record (settled.ts): the first list and a 410 relist leave out objects
   * already handled at their listed version; the resync timer's lists still deliver everything.
   */
  settled?: SettledVersions;
  /** A watched state not delivered because only its status changed (settled if the one before was). */
  onSkipped?: (key: string, rv: string, previousRv: string) => void;
}

export interface ListWatchStats {
  resource: string;
  lists: number;
  watches: number;
  relistsAfterGone: number;
  resyncs: number;
  reconnects: number;
  events: number;
  /** Listed objects not delivered because their version was settled (first list, 410 relists). */
  skippedSettled: number;
  /** Deletes of objects a list no longer showed. */
  listDeletes: number;
  objects: number;
  missing: boolean;
  resourceVersion: string;
}

// A watch that ends cleanly this soon after starting without any event counts as a failure, so a
// server that keeps closing at once is not hammered.
const MIN_HEALTHY_WATCH_MS = 1000;

export class ListWatch {
  private readonly cache: ObjectCache = new Map();
  private readonly stopper = new AbortController();
  private readonly counts = {
    lists: 0,
    watches: 0,
    relistsAfterGone: 0,
    resyncs: 0,
    reconnects: 0,
    events: 0,
    skippedSettled: 0,
    listDeletes: 0,
  };
  private missing = false;
  private resourceVersion = '';
  private loop: Promise<void> | undefined;
  private markSynced: () => void = () => {};
  /** Resolves after the first successful list, or once the type is known to be missing. */
  readonly synced: Promise<void> = new Promise((r) => {
    this.markSynced = r;
  });
  private readonly delay: Delay;
  private readonly log: Logger;

  constructor(private readonly opts: ListWatchOptions) {
    this.delay = opts.delay ?? realDelay;
    this.log = (opts.logger ?? silentLogger) as Logger;
  }

  start(): void {
    this.loop ??= this.run().catch((err) => {
      this.log.error({ resource: this.name, err: String(err) }, 'list-watch loop crashed');
    });
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  stats(): ListWatchStats {
    return {
      resource: this.name,
      ...this.counts,
      objects: this.cache.size,
      missing: this.missing,
      resourceVersion: this.resourceVersion,
    };
  }

  private get name() {
    return resourceName(this.opts.resource);
  }

  private emit(events: ChangeEvent[]) {
    if (events.length === 0) return;
    this.counts.events += events.length;
    this.opts.onEvents(events);
  }

  private backoff(failures: number) {
    return backoffDelay(failures, this.opts.backoff ?? WATCH_BACKOFF, this.opts.random);
  }

  private async run(): Promise<void> {
    const { transport, resource } = this.opts;
    const path = collectionPath(resource);
    const apiVersion = apiVersionOf(resource);
    const signal = this.stopper.signal;
    let failures = 0;
    // Why the next list happens: a resync delivers everything, the others skip settled objects.
    let reason: 'start' | 'gone' | 'resync' = 'start';

    while (!signal.aborted) {
      // --- list ---
      let listed: { status: number; body: unknown };
      try {
        listed = await transport.list(path, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.log.warn({ resource: this.name, err: String(err) }, 'list failed; retrying');
        await this.delay(this.backoff(failures++), signal);
        continue;
      }
      if (listed.status === 404) {
        if (!this.missing) {
          this.log.info(
            { resource: this.name },
            'resource type not served by the API server; skipped, will ask again',
          );
        }
        this.missing = true;
        this.markSynced();
        await this.delay(this.opts.missingRetryMs ?? 60_000, signal);
        continue;
      }
      const body = listed.body as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
      if (listed.status !== 200 || !Array.isArray(body?.items)) {
        this.log.warn({ resource: this.name, status: listed.status }, 'list refused; retrying');
        await this.delay(this.backoff(failures++), signal);
        continue;
      }
      this.missing = false;
      this.counts.lists++;
      failures = 0;
      this.resourceVersion = body.metadata?.resourceVersion ?? '';
      const items = body.items.map((o) => withTypeMeta(o, apiVersion, resource.kind));
      const settled = this.opts.settled;
      const result = settled
        ? relistWithSettled(this.cache, resource.kind, apiVersion, items, settled, reason !== 'resync')
        : undefined;
      const events = result?.events ?? applyList(this.cache, resource.kind, items);
      const deletes = result?.deletes ?? events.filter((e) => e.action === 'delete').length;
      this.counts.skippedSettled += result?.skipped ?? 0;
      this.counts.listDeletes += deletes;
      this.log.info(
        {
          resource: this.name,
          reason,
          listed: items.length,
          delivering: events.length - deletes,
          skipped: result?.skipped ?? 0,
          deletes,
        },
        `list: listed ${items.length}, delivering ${events.length - deletes}, skipped ${result?.skipped ?? 0}, deletes ${deletes}`,
      );
      this.emit(events);
      this.markSynced();

      // --- watch until a relist is due ---
      const resyncAt = this.opts.resyncMs ? Date.now() + this.opts.resyncMs : Number.POSITIVE_INFINITY;
      const relist = await this.watchUntilRelist(
        path,
        apiVersion,
        resyncAt,
        () => failures++,
        () => {
          failures = 0;
        },
      );
      if (relist === 'gone') this.counts.relistsAfterGone++;
      if (relist === 'resync') this.counts.resyncs++;
      if (relist !== 'stopped') reason = relist;
    }
  }

  private async watchUntilRelist(
    path: string,
    apiVersion: string,
    resyncAt: number,
    nextFailure: () => number,
    healthy: () => void,
  ): Promise<'gone' | 'resync' | 'stopped'> {
    const { transport, resource } = this.opts;
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const remaining = resyncAt - Date.now();
      if (remaining <= 0) return 'resync';
      const watchAbort = new AbortController();
      const onStop = () => watchAbort.abort();
      signal.addEventListener('abort', onStop, { once: true });
      let resyncDue = false;
      const timerAbort = new AbortController();
      if (Number.isFinite(remaining)) {
        void this.delay(remaining, timerAbort.signal).then(() => {
          if (!timerAbort.signal.aborted) {
            resyncDue = true;
            watchAbort.abort();
          }
        });
      }
      // The server ends a watch after timeoutSeconds; one that outlives that by far is on a dead
      // connection that sent no FIN, so cut it and watch again.
      const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300;
      const deadConnection = setTimeout(() => watchAbort.abort(), (timeoutSeconds + 30) * 1000);
      let gone = false;
      let sawEvent = false;
      const started = Date.now();
      this.counts.watches++;
      const query: Record<string, string> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
      };
      const end: WatchEnd = await transport.watch(
        path,
        query,
        (line) => {
          sawEvent = true;
          if (line.type === 'BOOKMARK') {
            const rv = (line.object as KubeObject).metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            return;
          }
          if (line.type === 'ERROR') {
            const code = (line.object as { code?: number }).code;
            if (code === 410) gone = true;
            else this.log.warn({ resource: this.name, status: line.object }, 'watch error event');
            watchAbort.abort();
            return;
          }
          const obj = withTypeMeta(line.object as KubeObject, apiVersion, resource.kind);
          const rv = obj.metadata.resourceVersion;
          if (rv) this.resourceVersion = rv;
          healthy();
          // The state before this one, for the settled-version record (only kept with one).
          const key = this.opts.settled ? keyOf(resource.kind, obj) : '';
          const previousRv = this.opts.settled ? this.cache.get(key)?.metadata.resourceVersion : undefined;
          const events = applyWatchEvent(this.cache, resource.kind, line.type, obj, {
            ...(resource.claimedStatus ? { claimedStatus: resource.claimedStatus } : {}),
          });
          if (previousRv !== undefined && rv) {
            if (events.length === 0 && line.type !== 'DELETED' && rv !== previousRv) {
              this.opts.onSkipped?.(key, rv, previousRv);
            }
            for (const ev of events) if (ev.action !== 'delete') ev.previousRv = previousRv;
          }
          this.emit(events);
        },
        watchAbort.signal,
      );
      timerAbort.abort();
      clearTimeout(deadConnection);
      signal.removeEventListener('abort', onStop);
      if (signal.aborted) return 'stopped';
      if (gone || (end.kind === 'http-error' && end.status === 410)) {
        this.log.info({ resource: this.name, resourceVersion: this.resourceVersion }, '410 Gone; relisting');
        return 'gone';
      }
      if (resyncDue) return 'resync';
      const cleanAndUseful =
        end.kind === 'closed' && (sawEvent || Date.now() - started >= MIN_HEALTHY_WATCH_MS);
      if (cleanAndUseful) continue; // server-side timeout: carry on from the last version
      this.counts.reconnects++;
      const wait = this.backoff(nextFailure());
      this.log.warn(
        { resource: this.name, end: end.kind === 'network-error' ? end.error.message : end, waitMs: wait },
        'watch ended; re-watching',
      );
      await this.delay(wait, signal);
    }
    return 'stopped';
  }
}
