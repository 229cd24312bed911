// How the local stack runs our own programs: where the project is, whether they run from source
// (tsx) or compiled (`dist/`), and which of the parent's environment they inherit. A leaf every
// other stack module uses; it changes when the way programs are launched does.
import { basename, join, resolve } from 'node:path';

/** The project root, whether this file runs from its source or compiled under `dist/`. */
export const ROOT = resolve(
  import.meta.dirname,
  '../..',
  basename(resolve(import.meta.dirname, '../..')) === 'dist' ? '..' : '.',
);
/** True when this code runs compiled (from `dist/`, `npm run build`), as benchmarks run it. */
const RUNNING_COMPILED = import.meta.url.endsWith('.js');
const TSX = ['--import', 'tsx'];

/** How node starts one of our programs (`functions/serve/node`, without extension). */
export function entry(opts: { compiled?: boolean }, program: string): string[] {
  return (opts.compiled ?? RUNNING_COMPILED)
    ? [join(ROOT, 'dist', `${program}.js`)]
    : [...TSX, join(ROOT, `${program}.ts`)];
}

// Secrets a parent shell may hold must not reach the children next to the stack's own files
// (`X` and `X_FILE` together are refused), nor a Redis address of another system.
const STACK_OWNED = [
  'API_TOKEN',
  'RELAY_SECRET',
  'EVENTS_TOKEN',
  'REDIS_PASSWORD',
  'ADMISSION_TOKEN',
  'RELAY_STATE_REDIS',
  'RELAY_STATE_REDIS_PASSWORD',
].flatMap((n) => [n, `${n}_FILE`]);
export function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [...STACK_OWNED, 'REDIS_URL', 'REDIS_CLUSTER_NODES']) delete env[name];
  return env;
}
