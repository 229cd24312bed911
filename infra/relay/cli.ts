// Command line and environment of the relay, parsed without side effects (files are read through
// the `readFile` the caller passes). Secrets never come from the command line, where `ps` and
// /proc/<pid>/cmdline show them to every user: from the environment or from a file instead.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { readSecret } from '../../shared/config.ts';
import { type ElectionTiming, timingProblem } from '../../shared/domain/leader-lease.ts';

/** Where a pod's own namespace is (the service account's mount), as client-go reads it in-cluster. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LeaderElectionCli extends ElectionTiming {
  leaseName: string;
  leaseNamespace: string;
  identity: string;
}

export interface RelayCliOptions {
  kubeconfig?: string;
  sinks: string[];
  /** A file of sink URLs (one a line) that is watched: replicas added or removed while running. */
  sinksFile?: string;
  secret?: string;
  token?: string;
  resyncMs: number;
  concurrency: number;
  maxBatch: number;
  /** Undefined: the sink's default (4, or no limit of its own with maxBatch 1). */
  maxInFlight?: number;
  maxAttempts: number;
  shutdownDeadlineMs: number;
  logLevel: string;
  /** Set when replicas elect a leader (only it delivers); undefined: this relay always delivers. */
  leaderElection?: LeaderElectionCli;
  /** The settled-version store: a new relay re-delivers only what changed (undefined: everything). */
  state?: { redisUrl: string; password?: string; prefix: string };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds; `0` turns a timer off. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (try 30s, 5m, 1h)`);
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000));
}

/** Sink URLs separated by commas or lines; throws on a malformed one. */
export function parseSinkList(text: string): string[] {
  const urls = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of urls) new URL(s);
  return urls;
}

export const USAGE = `relay: lists and watches Subnet, Vip, SwitchLBRule, Pod, StatefulSet, VirtualMachine and posts each
change as a signed CloudEvent (Knative ApiServerSource, Resource mode) to the functions.

  --kubeconfig PATH     kubeconfig (env KUBECONFIG; default: in-cluster or ~/.kube/config)
  --sink URL            function URL, repeatable (env RELAY_SINKS, comma-separated)
  --sinks-file PATH     file of function URLs, one a line, re-read when it changes: replicas
                        come and go without a restart (env RELAY_SINKS_FILE)
  --secret-file PATH    file holding the HMAC-SHA256 signing secret (env RELAY_SECRET_FILE,
                        or the secret itself in env RELAY_SECRET)
  --token-file PATH     file holding a bearer token to send as well (env EVENTS_TOKEN_FILE,
                        or EVENTS_TOKEN)
  --resync DURATION     relist and re-deliver every object this often, 0 = off (env RELAY_RESYNC; 5m)
  --concurrency N       deliveries in flight at once (env RELAY_CONCURRENCY; 16)
  --max-batch N         events per request to one sink at most, as a CloudEvents batch;
                        1 = one binary-mode event per request (env RELAY_MAX_BATCH; 64)
  --max-in-flight N     requests outstanding per sink at most; events arriving while all are busy
                        wait and go in the next batch (env RELAY_MAX_IN_FLIGHT; 4, and no limit
                        of its own with --max-batch 1: --concurrency alone bounds the requests)
  --max-attempts N      tries of an object the function fails on (HTTP 500) before it is reported as a
                        dead letter and retried only every 5 minutes; outages are retried until
                        they end (env RELAY_MAX_ATTEMPTS; 5)
  --shutdown-deadline D how long SIGTERM waits for queued deliveries (env RELAY_SHUTDOWN_DEADLINE; 10s)
  --log-level LEVEL     pino level (env LOG_LEVEL; info)

Restart without re-delivering everything (optional; without it every object is delivered again):
  --state-redis URL     Redis where the relay keeps, per object, the resourceVersion the functions
                        last handled; a new relay reads it and delivers only what changed (env
                        RELAY_STATE_REDIS, or a file holding the URL: --state-redis-file PATH or
                        RELAY_STATE_REDIS_FILE; a
                        URL with a password is refused here: use the env, the file, or
                        RELAY_STATE_REDIS_PASSWORD[_FILE]). Unreachable: everything is delivered.
  --state-prefix P      prefix of its keys, one per kind (env RELAY_STATE_PREFIX; vip-relay:)

Leader election (several replicas; only the holder of a coordination.k8s.io/v1 Lease lists,
watches and delivers, the others wait and answer /readyz as followers):
  --leader-elect        turn it on (env RELAY_LEADER_ELECT=true)
  --lease-name NAME     the Lease (env RELAY_LEASE_NAME; vip-relay)
  --lease-namespace NS  its namespace (env RELAY_LEASE_NAMESPACE, else POD_NAMESPACE, else the
                        pod's own namespace from its service account, else default)
  --identity ID         this replica's holderIdentity (env RELAY_LEADER_IDENTITY; default
                        <hostname>_<random>, unique per process as client-go's)
  --lease-duration D    a silent holder's lease is taken over after this (env RELAY_LEASE_DURATION; 15s)
  --renew-deadline D    a leader that could not renew for this long stops delivering
                        (env RELAY_RENEW_DEADLINE; 10s)
  --retry-period D      time between tries and renewals (env RELAY_RETRY_PERIOD; 2s)`;

export function parseRelayArgs(
  argv: string[],
  env: Record<string, string | undefined>,
  io: { readFile?: (path: string) => string } = {},
): RelayCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      sink: { type: 'string', multiple: true },
      'sinks-file': { type: 'string' },
      secret: { type: 'string' },
      token: { type: 'string' },
      'secret-file': { type: 'string' },
      'token-file': { type: 'string' },
      resync: { type: 'string' },
      concurrency: { type: 'string' },
      'max-attempts': { type: 'string' },
      'max-batch': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'shutdown-deadline': { type: 'string' },
      'log-level': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'lease-name': { type: 'string' },
      'lease-namespace': { type: 'string' },
      identity: { type: 'string' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'state-redis': { type: 'string' },
      'state-redis-file': { type: 'string' },
      'state-prefix': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const sinksFile = values['sinks-file'] ?? env.RELAY_SINKS_FILE;
  const sinks = values.sink?.length
    ? values.sink
    : sinksFile
      ? parseSinkList(io.readFile ? io.readFile(sinksFile) : '')
      : parseSinkList(env.RELAY_SINKS ?? '');
  if (sinks.length === 0) throw new Error(`at least one --sink URL is needed\n\n${USAGE}`);
  for (const s of sinks) new URL(s); // throws on a malformed URL
  // Parsed only to refuse them with a useful message rather than "unknown option".
  for (const flag of ['secret', 'token'] as const) {
    if (values[flag] !== undefined)
      throw new Error(
        `--${flag} is not accepted: a secret on the command line is visible to every user through ps. ` +
          `Use --${flag}-file PATH or the environment (${flag === 'secret' ? 'RELAY_SECRET[_FILE]' : 'EVENTS_TOKEN[_FILE]'})`,
      );
  }
  const withFile = (name: string, file: string | undefined) =>
    readSecret(file ? { [`${name}_FILE`]: file } : env, name, io);
  const secret = withFile('RELAY_SECRET', values['secret-file']);
  const token = withFile('EVENTS_TOKEN', values['token-file']);
  if (!secret && !token)
    throw new Error(
      'a signing secret (RELAY_SECRET[_FILE], --secret-file) or a token (EVENTS_TOKEN[_FILE]) is needed',
    );
  const int = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
    return n;
  };
  const optionalInt = (text: string | undefined, name: string) =>
    text === undefined ? undefined : int(text, 1, name);
  const elect =
    values['leader-elect'] ??
    ['true', '1', 'yes'].includes((env.RELAY_LEADER_ELECT ?? '').trim().toLowerCase());
  let leaderElection: LeaderElectionCli | undefined;
  if (elect) {
    const readNamespace = () => {
      try {
        return io.readFile?.(SERVICE_ACCOUNT_NAMESPACE_FILE).trim() || undefined;
      } catch {
        return undefined; // not in a pod
      }
    };
    leaderElection = {
      leaseName: values['lease-name'] ?? env.RELAY_LEASE_NAME ?? 'vip-relay',
      leaseNamespace:
        values['lease-namespace'] ??
        env.RELAY_LEASE_NAMESPACE ??
        env.POD_NAMESPACE ??
        readNamespace() ??
        'default',
      identity:
        values.identity ?? env.RELAY_LEADER_IDENTITY ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
      leaseDurationMs: parseDuration(values['lease-duration'] ?? env.RELAY_LEASE_DURATION ?? '15s'),
      renewDeadlineMs: parseDuration(values['renew-deadline'] ?? env.RELAY_RENEW_DEADLINE ?? '10s'),
      retryPeriodMs: parseDuration(values['retry-period'] ?? env.RELAY_RETRY_PERIOD ?? '2s'),
    };
    const problem = timingProblem(leaderElection);
    if (problem) throw new Error(`leader election: ${problem}`);
  }
  if (values['state-redis'] !== undefined && values['state-redis-file'] !== undefined)
    throw new Error('--state-redis: give the URL or --state-redis-file, not both');
  const stateFile = values['state-redis-file'];
  const state = parseStateStore(
    values['state-redis'],
    values['state-prefix'],
    stateFile ? { ...env, RELAY_STATE_REDIS: undefined, RELAY_STATE_REDIS_FILE: stateFile } : env,
    io,
  );
  return {
    ...(leaderElection ? { leaderElection } : {}),
    ...(state ? { state } : {}),
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    sinks,
    ...(sinksFile && !values.sink?.length ? { sinksFile } : {}),
    secret,
    token,
    resyncMs: parseDuration(values.resync ?? env.RELAY_RESYNC ?? '5m'),
    concurrency: int(values.concurrency ?? env.RELAY_CONCURRENCY, 16, '--concurrency'),
    maxBatch: int(values['max-batch'] ?? env.RELAY_MAX_BATCH, 64, '--max-batch'),
    maxInFlight: optionalInt(values['max-in-flight'] ?? env.RELAY_MAX_IN_FLIGHT, '--max-in-flight'),
    maxAttempts: int(values['max-attempts'] ?? env.RELAY_MAX_ATTEMPTS, 5, '--max-attempts'),
    shutdownDeadlineMs: parseDuration(values['shutdown-deadline'] ?? env.RELAY_SHUTDOWN_DEADLINE ?? '10s'),
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
  };
}

/** Whether a Redis URL carries a password (`redis://:pw@host`, `redis://user:pw@host`). */
const urlHasPassword = (url: URL) => url.password !== '';

function parseStateStore(
  flag: string | undefined,
  prefixFlag: string | undefined,
  env: Record<string, string | undefined>,
  io: { readFile?: (path: string) => string },
): RelayCliOptions['state'] {
  const problem = (why: string) => new Error(`--state-redis: ${why}`);
  let text = flag;
  if (flag !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(flag);
    } catch {
      throw problem('not a URL (redis://host:6379 or rediss://host:6380)');
    }
    if (urlHasPassword(parsed))
      throw problem(
        'a password on the command line is visible to every user through ps. Put the URL in ' +
          'RELAY_STATE_REDIS or a file named by RELAY_STATE_REDIS_FILE, or the password in RELAY_STATE_REDIS_PASSWORD[_FILE]',
      );
  } else {
    text = readSecret(env, 'RELAY_STATE_REDIS', io)?.trim();
  }
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Never echo the text: it may hold a password.
    throw problem('RELAY_STATE_REDIS is not a URL (redis://host:6379 or rediss://host:6380)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw problem(`the URL must start with redis:// or rediss:// (not ${url.protocol}//)`);
  const password = readSecret(env, 'RELAY_STATE_REDIS_PASSWORD', io);
  const prefix = prefixFlag ?? env.RELAY_STATE_PREFIX ?? 'vip-relay:';
  if (!prefix) throw problem('--state-prefix must not be empty');
  return { redisUrl: text, ...(password ? { password } : {}), prefix };
}
