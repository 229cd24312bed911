import { describe, expect, it } from 'vitest';
import { parseDuration, parseRelayArgs, SERVICE_ACCOUNT_NAMESPACE_FILE } from '../../infra/relay/cli.ts';

describe('relay CLI parsing', () => {
  it('durations', () => {
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('flags win over the environment; sinks repeat; defaults apply', () => {
    const opts = parseRelayArgs(
      ['--sink', 'http://a:1/events', '--sink', 'http://b:2/events', '--resync', '90s'],
      { RELAY_SECRET: 'env', KUBECONFIG: '/k' },
    );
    expect(opts).toMatchObject({
      sinks: ['http://a:1/events', 'http://b:2/events'],
      secret: 'env',
      kubeconfig: '/k',
      resyncMs: 90_000,
      concurrency: 16,
      maxBatch: 64,
      maxInFlight: undefined,
      maxAttempts: 5,
      shutdownDeadlineMs: 10_000,
    });
    expect(parseRelayArgs([], { RELAY_SINKS: 'http://x/e, http://y/e', EVENTS_TOKEN: 't' })).toMatchObject({
      sinks: ['http://x/e', 'http://y/e'],
      token: 't',
      resyncMs: 300_000,
    });
  });

  it('refuses missing sinks, missing credentials, bad URLs and unknown flags', () => {
    expect(() => parseRelayArgs([], { RELAY_SECRET: 's' })).toThrow(/--sink/);
    expect(() => parseRelayArgs(['--sink', 'http://a/e'], {})).toThrow(/secret/);
    expect(() => parseRelayArgs(['--sink', 'not a url'], { RELAY_SECRET: 's' })).toThrow();
    expect(() => parseRelayArgs(['--sink', 'http://a/e', '--bogus'], { RELAY_SECRET: 's' })).toThrow();
    expect(() =>
      parseRelayArgs(['--sink', 'http://a/e', '--concurrency', '0'], { RELAY_SECRET: 's' }),
    ).toThrow(/positive/);
  });

  it('batching flags and their environment variables', () => {
    const base = ['--sink', 'http://a/e'];
    const env = { RELAY_SECRET: 's' };
    expect(parseRelayArgs([...base, '--max-batch', '1', '--max-in-flight', '8'], env)).toMatchObject({
      maxBatch: 1,
      maxInFlight: 8,
    });
    expect(parseRelayArgs(base, { ...env, RELAY_MAX_BATCH: '16', RELAY_MAX_IN_FLIGHT: '2' })).toMatchObject({
      maxBatch: 16,
      maxInFlight: 2,
    });
    expect(() => parseRelayArgs([...base, '--max-batch', '0'], env)).toThrow(/--max-batch/);
    expect(() => parseRelayArgs([...base, '--max-in-flight', 'x'], env)).toThrow(/--max-in-flight/);
  });

  it('takes secrets from the environment or a file, never from a flag', () => {
    const files: Record<string, string> = { '/run/secrets/hmac': 'from-file\n', '/run/secrets/token': 'tok' };
    const readFile = (p: string) => {
      const text = files[p];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    };
    const sink = ['--sink', 'http://a/e'];
    // The flag names a file; the file's trailing newline is not part of the secret.
    expect(parseRelayArgs([...sink, '--secret-file', '/run/secrets/hmac'], {}, { readFile })).toMatchObject({
      secret: 'from-file',
    });
    expect(parseRelayArgs(sink, { RELAY_SECRET_FILE: '/run/secrets/hmac' }, { readFile }).secret).toBe(
      'from-file',
    );
    expect(parseRelayArgs(sink, { EVENTS_TOKEN_FILE: '/run/secrets/token' }, { readFile }).token).toBe('tok');
    expect(() =>
      parseRelayArgs(sink, { RELAY_SECRET: 'a', RELAY_SECRET_FILE: '/run/secrets/hmac' }, { readFile }),
    ).toThrow(/not both/);
    expect(() => parseRelayArgs(sink, { RELAY_SECRET_FILE: '/nope' }, { readFile })).toThrow(
      /cannot read \/nope/,
    );
    // A secret given on the command line is refused, with the way to pass it instead.
    expect(() => parseRelayArgs([...sink, '--secret', 'visible-in-ps'], {})).toThrow(/RELAY_SECRET\[_FILE\]/);
    expect(() => parseRelayArgs([...sink, '--token', 'visible-in-ps'], {})).toThrow(/EVENTS_TOKEN\[_FILE\]/);
  });

  it('leader election: off unless asked; names, namespace and timing from flags, env or the pod', () => {
    const sink = ['--sink', 'http://a/e'];
    expect(parseRelayArgs(sink, { RELAY_SECRET: 's' }).leaderElection).toBeUndefined();
    const inPod = (p: string) => {
      if (p === SERVICE_ACCOUNT_NAMESPACE_FILE) return 'kube-ovn-vip\n';
      throw new Error('ENOENT');
    };
    const fromEnv = parseRelayArgs(
      sink,
      { RELAY_SECRET: 's', RELAY_LEADER_ELECT: 'true' },
      { readFile: inPod },
    );
    expect(fromEnv.leaderElection).toMatchObject({
      leaseName: 'vip-relay',
      leaseNamespace: 'kube-ovn-vip',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    // Unique per process, so a restarted replica is a new candidate (client-go's hostname_uuid).
    expect(fromEnv.leaderElection!.identity).toMatch(/^.+_[0-9a-f]{8}$/);
    expect(
      parseRelayArgs(sink, { RELAY_SECRET: 's', RELAY_LEADER_ELECT: 'true' }, { readFile: inPod })
        .leaderElection!.identity,
    ).not.toBe(fromEnv.leaderElection!.identity);
    const flags = parseRelayArgs(
      [
        ...sink,
        '--leader-elect',
        '--lease-name',
        'r',
        '--lease-namespace',
        'ns1',
        '--identity',
        'relay-1',
        '--lease-duration',
        '4s',
        '--renew-deadline',
        '2s',
        '--retry-period',
        '500ms',
      ],
      { RELAY_SECRET: 's', RELAY_LEASE_NAMESPACE: 'other' },
    );
    expect(flags.leaderElection).toEqual({
      leaseName: 'r',
      leaseNamespace: 'ns1',
      identity: 'relay-1',
      leaseDurationMs: 4_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
    });
    expect(
      parseRelayArgs([...sink, '--leader-elect'], { RELAY_SECRET: 's', POD_NAMESPACE: 'p' }).leaderElection!
        .leaseNamespace,
    ).toBe('p');
    expect(
      parseRelayArgs([...sink, '--leader-elect'], { RELAY_SECRET: 's' }).leaderElection!.leaseNamespace,
    ).toBe('default');
    // A renew deadline that is not shorter than the lease could let two relays deliver at once.
    expect(() =>
      parseRelayArgs([...sink, '--leader-elect', '--lease-duration', '10s', '--renew-deadline', '10s'], {
        RELAY_SECRET: 's',
      }),
    ).toThrow(/leader election: the lease duration/);
  });

  it('the settled-version store: off by default, a URL from the flag, the env or a file; never a password on the command line', () => {
    const base = { RELAY_SECRET: 's', RELAY_SINKS: 'http://a/e' };
    expect(parseRelayArgs([], base).state).toBeUndefined();
    expect(parseRelayArgs(['--state-redis', 'redis://r:6379', '--state-prefix', 'c1:'], base).state).toEqual({
      redisUrl: 'redis://r:6379',
      prefix: 'c1:',
    });
    const files: Record<string, string> = { '/run/url': 'redis://:pw@r:6379\n', '/run/pw': 'secret\n' };
    const io = { readFile: (p: string) => files[p]! };
    expect(parseRelayArgs([], { ...base, RELAY_STATE_REDIS_FILE: '/run/url' }, io).state).toEqual({
      redisUrl: 'redis://:pw@r:6379',
      prefix: 'vip-relay:',
    });
    expect(
      parseRelayArgs(['--state-redis-file', '/run/url'], { ...base, RELAY_STATE_REDIS: 'redis://x' }, io)
        .state,
    ).toMatchObject({
      redisUrl: 'redis://:pw@r:6379',
    });
    expect(
      parseRelayArgs(
        [],
        {
          ...base,
          RELAY_STATE_REDIS: 'redis://r:6379',
          RELAY_STATE_REDIS_PASSWORD_FILE: '/run/pw',
          RELAY_STATE_PREFIX: 'p:',
        },
        io,
      ).state,
    ).toEqual({ redisUrl: 'redis://r:6379', password: 'secret', prefix: 'p:' });
    // A password on the command line is refused, and the error never repeats it.
    let message = '';
    try {
      parseRelayArgs(['--state-redis', 'redis://:hunter2@r:6379'], base);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/visible to every user through ps/);
    expect(message).not.toContain('hunter2');
    expect(() => parseRelayArgs([], { ...base, RELAY_STATE_REDIS: 'http://r:6379' })).toThrow(/redis:\/\//);
    expect(() => parseRelayArgs([], { ...base, RELAY_STATE_REDIS: 'not a url :pw' })).toThrow(/not a URL/);
    expect(() => parseRelayArgs(['--state-redis', 'redis://r', '--state-prefix', ''], base)).toThrow(/empty/);
  });
});
