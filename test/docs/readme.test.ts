// Issue 21 item 8: the README's shell blocks marked runnable (a fence with the info string
// `sh runnable`) are run as written, with bash, against a stack started here, so a command the
// README shows cannot silently break. Only commands that are safe against a test stack may be
// marked: each line must start with one of ALLOWED.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl } from '../../infra/dev-apiserver/kubectl.ts';
import { writeStackEnv } from '../../infra/local/banner.ts';
import { ROOT, type Stack, startStack } from '../../infra/local/stack.ts';

/** The fenced blocks whose info string is `sh runnable`, with the line they start on. */
function runnableBlocks(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```sh runnable\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

const ALLOWED = [
  /^\. \$\{STACK_ENV:-\.local\/stack\.env\}/,
  /^kubectl (apply -f examples\/|get |wait |describe )/,
  /^kubectl vip (who|usage|holders) /,
  /^ovn-nbctl --db=\$NB (show|find|get|list) /,
  /^curl -sf? /,
];

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = runnableBlocks(readme);

describe('README runnable blocks: what may be marked', () => {
  it('finds the blocks (the quick start has one)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(runnableBlocks('x\n```sh runnable\necho a\n```\n```sh\nrm -rf /\n```\n')).toEqual([
      { line: 3, code: 'echo a' },
    ]);
  });

  it('marks only commands safe to run against a test stack', () => {
    const unsafe = blocks.flatMap((b) =>
      b.code
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#') && !ALLOWED.some((re) => re.test(l)))
        .map((l) => `README.md:${b.line}: ${l}`),
    );
    expect(unsafe).toEqual([]);
  });
});

describe('README runnable blocks, run against a stack', () => {
  let stack: Stack;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    stack = await startStack({ admission: false, dataplane: false });
    const home = join(stack.dir, 'home');
    mkdirSync(home, { recursive: true });
    env = {
      ...process.env,
      STACK_ENV: writeStackEnv(stack, join(stack.dir, 'stack.env')),
      // kubectl's discovery cache per host:port must not come from another test's server.
      HOME: home,
      PATH: `${dirname(findKubectl())}:${process.env.PATH}`,
    };
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it.each(blocks.map((b) => [b.line, b.code] as const))(
    'the block at README.md:%i runs',
    async (_line, code) => {
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(
          'bash',
          ['-euo', 'pipefail', '-c', code],
          { cwd: ROOT, env, timeout: 90_000 },
          (err, stdout, stderr) => {
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}\n${stderr}` });
          },
        );
      });
      expect(result.code, result.out).toBe(0);
    },
  );
});
