// The relay as a process, sending to given sinks (the chaos proxies in front of the replicas),
// started the way infra/local/relays.ts starts it; `restart()` kills it with SIGKILL (no drain)
// and starts a new one, which lists everything again.
import { join } from 'node:path';
import { type Daemon, spawnDaemon } from '../../infra/local/services.ts';
import { ROOT, type Stack } from '../../infra/local/stack.ts';

export interface ChaosRelay {
  readonly current: Daemon;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosRelay(stack: Stack, sinks: string[], resync: string): Promise<ChaosRelay> {
  let generation = 0;
  const spawn = () =>
    spawnDaemon(
      `relay-chaos-${generation++}`,
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'infra/relay/main.ts'),
        '--kubeconfig',
        stack.kubeconfig,
        ...sinks.flatMap((s) => ['--sink', s]),
        '--resync',
        resync,
      ],
      stack.dir,
      {
        // The secret by file, as the stack passes it: never on the command line.
        env: {
          ...process.env,
          RELAY_SECRET: undefined,
          RELAY_SECRET_FILE: join(stack.secretsDir, 'relay-secret'),
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        },
        cwd: ROOT,
      },
    );
  let current = spawn();
  return {
    get current() {
      return current;
    },
    async restart() {
      await current.stop('SIGKILL');
      current = spawn();
    },
    async stop() {
      await current.stop();
    },
  };
}
