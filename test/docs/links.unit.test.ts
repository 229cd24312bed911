// Issue 21 item 1: the documentation stands alone in a clone. No Markdown file links outside the
// repository (a relative link climbing above the root, an absolute path of the machine it was
// written on), every relative link leads to a file or folder that exists, and nothing points at
// the sibling folder the project was specified in.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../infra/local/stack.ts';

const SKIP = new Set(['node_modules', '.git', '.local', '.cache', 'dist', '.wrangler']);

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** Link targets outside code: inline `[x](t)`, images, and reference definitions `[x]: t`. */
function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const refs = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...refs];
}

/** Why `target` (linked from `file`) leaves the repository or leads nowhere; undefined when fine. */
function badLink(file: string, target: string, root = ROOT): string | undefined {
  if (/^(https?:|mailto:)/i.test(target) || target.startsWith('#')) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return `${target}: not a link inside the repository`;
  const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
  if (path.startsWith('/')) return `${target}: an absolute path`;
  const abs = resolve(dirname(file), path);
  const rel = relative(root, abs);
  if (rel.startsWith('..')) return `${target}: outside the repository`;
  if (!existsSync(abs)) return `${target}: no such file`;
  return undefined;
}

const files = markdownFiles(ROOT);

describe('Markdown stays inside the repository', () => {
  it('finds the documents (the walk works)', () => {
    const names = files.map((f) => relative(ROOT, f));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'docs/spec.md', 'docs/decisions.md']));
  });

  it('the checks catch what they must', () => {
    const readme = join(ROOT, 'README.md');
    expect(badLink(readme, '../shared/SPEC.md')).toMatch(/outside/);
    expect(badLink(readme, '/work/shared/SPEC.md')).toMatch(/absolute/);
    expect(badLink(readme, 'docs/nope.md')).toMatch(/no such file/);
    expect(badLink(readme, 'docs/spec.md#reasons')).toBeUndefined();
    expect(badLink(join(ROOT, 'docs/parts/operate.md'), '../img/occupancy-slash16.png')).toBeUndefined();
    expect(linkTargets('[a](x.md) `[b](y.md)` ![i](z.png "t")\n[r]: w.md\n```\n[c](q.md)\n```')).toEqual([
      'x.md',
      'z.png',
      'w.md',
    ]);
  });

  it('no link leaves the repository or leads nowhere', () => {
    const bad = files.flatMap((f) =>
      linkTargets(readFileSync(f, 'utf8'))
        .map((t) => badLink(f, t))
        .filter((why): why is string => why !== undefined)
        .map((why) => `${relative(ROOT, f)}: ${why}`),
    );
    expect(bad).toEqual([]);
  });

  it('no document names the specification folder beside the project or a path of this machine', () => {
    const bad = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => /\.\.\/shared\/|\/work\//.test(line))
        .map(({ line, i }) => `${relative(ROOT, f)}:${i + 1}: ${line.trim()}`),
    );
    expect(bad).toEqual([]);
  });
});
