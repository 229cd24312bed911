// The relay processes of the local stack: the command line of each (sinks as arguments or the
// sinks file, leader election with a new identity per process, the settled-version store in the
// stack's Redis), its health port, its restart under the supervisor, and `startRelay`, which waits
// until a relay has listed and watches. Changes when how the relay runs or elects changes; the
// replicas it delivers to come from replicas.ts.
import { readFileSync } from 'node:fs';
import { entry, inheritedEnv, ROOT } from './programs.ts';
import type { FunctionReplica } from './replicas.ts';
import { type Daemon, freePort, spawnDaemon, startedPids, waitFor } from './services.ts';
import type { StackOptions } from './stack.ts';
import type { Supervisor } from './supervisor.ts';

/** What the relays share with the rest of the stack. */
export interface RelayContext {
  opts: StackOptions;
  dir: string;
  supervisor: Supervisor;
  kubeconfigPath: string;
  /** The replicas as they are when a relay (re)starts: its `--sink`s and concurrency. */
  functions: readonly FunctionReplica[];
  /** The file of sinks the relay watches with `dynamicSinks`. */
  sinksFile: string;
  files: { relaySecret: string; redisPassword: string };
  /** The stack's standalone Redis (no password in it), for the settled-version store. */
  redisPlainUrl: string | undefined;
}

export interface Relays {
  /** Every relay process, by index. */
  readonly relays: Daemon[];
  /** How many relays the stack runs; more than one elect a leader. */
  readonly count: number;
  /** holderIdentity of relay `index`'s current process (with leader election). */
  relayIdentity(index: number): string | undefined;
  /** Relay `index`'s HEALTH_PORT server. */
  healthUrl(index: number): string;
  startRelay(index?: number, relayOpts?: { state?: boolean }): Promise<Daemon>;
}

export function createRelays(ctx: RelayContext): Relays {
  const { opts, dir, supervisor, functions, sinksFile, files, redisPlainUrl } = ctx;
  const relayCount = opts.relays ?? 1;
  const elect = relayCount > 1;
  const relays: Daemon[] = [];
  const identities: string[] = [];
  let relaySpawns = 0;
  // Each relay's /metrics, /livez and /readyz. A new port per process: a relay stopped with a drain deadline may still hold its old one.
  const relayHealthPorts: number[] = [];
  // Per relay: whether it keeps settled versions in the stack's Redis (StackOptions.relayState).
  const relayStates: boolean[] = [];
  const spawnRelay = async (index: number) => {
    relayHealthPorts[index] = await freePort();
    // A new identity per process, as client-go's hostname_uuid: a restarted relay is a new candidate.
    const identity = `relay-${index}.${++relaySpawns}`;
    identities[index] = identity;
    const election = elect
      ? [
          '--leader-elect',
          '--identity',
          identity,
          '--lease-namespace',
          'default',
          ...(opts.election?.leaseDuration ? ['--lease-duration', opts.election.leaseDuration] : []),
          ...(opts.election?.renewDeadline ? ['--renew-deadline', opts.election.renewDeadline] : []),
          ...(opts.election?.retryPeriod ? ['--retry-period', opts.election.retryPeriod] : []),
        ]
      : [];
    return spawnDaemon(
      `relay-${index}-${Date.now()}`,
      process.execPath,
      [
        ...(opts.relayNodeArgs ?? []),
        ...entry(opts, 'infra/relay/main'),
        '--kubeconfig',
        ctx.kubeconfigPath,
        ...(opts.dynamicSinks
          ? ['--sinks-file', sinksFile]
          : functions.flatMap((f) => ['--sink', `${f.url}/events`])),
        '--resync',
        opts.resync ?? '5m',
        // Handlers are I/O-bound; many events in flight keep every replica busy.
        '--concurrency',
        String(256 * Math.max(1, functions.length)),
        ...election,
        ...(opts.relayArgs ?? []),
      ],
      dir,
      // info: the relay says little at info (start, synced, stop), and its sync line is awaited here.
      {
        env: {
          ...inheritedEnv(),
          RELAY_SECRET_FILE: files.relaySecret,
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
          HEALTH_PORT: String(relayHealthPorts[index]),
          HEALTH_HOST: '127.0.0.1',
          // The settled-version store: the stack's Redis, its password from the same file.
          ...(redisPlainUrl && (relayStates[index] ?? opts.relayState ?? true)
            ? { RELAY_STATE_REDIS: redisPlainUrl, RELAY_STATE_REDIS_PASSWORD_FILE: files.redisPassword }
            : {}),
        },
        cwd: ROOT,
      },
    );
  };

  return {
    relays,
    count: relayCount,
    relayIdentity: (index) => (elect ? identities[index] : undefined),
    healthUrl: (index) => `http://127.0.0.1:${relayHealthPorts[index]}`,
    async startRelay(index = 0, relayOpts = {}) {
      relayStates[index] = relayOpts.state ?? opts.relayState ?? true;
      const relay = await spawnRelay(index);
      relays[index] = relay;
      // A restarted relay lists everything again (or, electing, waits for the lease); nothing waits for it.
      supervisor.watch(
        relayCount > 1 ? `relay ${index}` : 'the relay',
        relay,
        async () => spawnRelay(index),
        (next) => {
          relays[index] = next;
        },
        () => 'same sinks',
      );
      // Ready once a relay has listed everything and watches: events from now on are not missed or
      // late. Electing, a follower never lists: whichever relay leads counts.
      const watched = elect ? relays : [relay];
      await waitFor(
        'the relay to list and watch',
        async () =>
          watched.some(
            (r) =>
              r &&
              startedPids().includes(r.pid) &&
              readFileSync(r.logFile, 'utf8').includes('initial lists delivered'),
          ),
        { timeoutMs: opts.relayReadyTimeoutMs ?? 30_000, intervalMs: 50 },
      );
      return relay;
    },
  };
}
