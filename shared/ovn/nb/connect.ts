// One call to get a ready Northbound writer for a long-lived process: a leader-only client over
// the given remotes and, by default, a PortCache so port lookups cost no server scan.
import { OvsdbClient, type OvsdbClientOptions } from '../../ovsdb/client.ts';
import { parseRemotes } from '../../ovsdb/transport.ts';
import { NB_DATABASE } from './model.ts';
import { PortCache } from './port-cache.ts';
import { NorthboundWriter, type WriterOptions } from './writer.ts';

export interface NorthboundOptions extends Omit<OvsdbClientOptions, 'remotes' | 'database'> {
  /** A list, or one comma-separated string as `ovn-nbctl --db=` takes it. */
  remotes: string[] | string;
  /** Keep a monitor-fed copy of Logical_Switch_Port (default true). */
  portCache?: boolean;
  /**
   * Resolve before the port cache has loaded (default false): reads go to the server until it
   * has. A replica that restarts next to 100,000 ports takes events at once.
   */
  portCacheInBackground?: boolean;
  /** With portCacheInBackground: ask for the port monitor only once this settles (PortCache.open). */
  portCacheStartAfter?: Promise<unknown>;
  writer?: Omit<WriterOptions, 'portCache'>;
}

export interface Northbound {
  client: OvsdbClient;
  writer: NorthboundWriter;
  cache?: PortCache;
  close(): Promise<void>;
}

export async function connectNorthbound(opts: NorthboundOptions): Promise<Northbound> {
  const {
    remotes,
    portCache = true,
    portCacheInBackground = false,
    portCacheStartAfter,
    writer: writerOpts,
    ...clientOpts
  } = opts;
  const client = await OvsdbClient.connect({
    leaderOnly: true,
    ...clientOpts,
    remotes: typeof remotes === 'string' ? parseRemotes(remotes) : remotes,
    database: NB_DATABASE,
  });
  try {
    const cache = portCache
      ? portCacheInBackground
        ? PortCache.open(client, portCacheStartAfter ? { startAfter: portCacheStartAfter } : {})
        : await PortCache.start(client)
      : undefined;
    const writer = new NorthboundWriter(client, { ...writerOpts, ...(cache && { portCache: cache }) });
    return {
      client,
      writer,
      ...(cache && { cache }),
      async close() {
        await cache?.close();
        client.close();
      },
    };
  } catch (err) {
    client.close();
    throw err;
  }
}
