// Issue 15 item 7: the layer picture in docs/architecture.md is drawn from the code, not from
// memory. Every run-time import from one pictured folder into another is an arrow in the picture,
// and every arrow between two folders is an import that exists, so the picture cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph, repoRoot, sourceFiles } from './import-graph.ts';

const doc = readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8');
const mermaid = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';

/** Node id -> the folder its label starts with (`relay["infra/relay<br/>..."]`); stores have none. */
function folders(src: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of src.matchAll(/^\s*(\w+)\["([\w/.-]+\/?)(?:<br\/>|")/gm)) {
    const [, id, label] = m;
    if (id && label?.includes('/')) out.set(id, label.replace(/\/$/, ''));
  }
  return out;
}

/** Arrows `a --> b` and `a -- text --> b`, as "a>b". */
function arrows(src: string): Set<string> {
  const out = new Set<string>();
  for (const m of src.matchAll(/^\s*(\w+)\s+--(?:\s+[^\n>]*?\s+--)?>\s+(\w+)\s*$/gm))
    out.add(`${m[1]}>${m[2]}`);
  return out;
}

describe('the layer picture in docs/architecture.md', () => {
  const nodes = folders(mermaid);
  const drawn = arrows(mermaid);
  // The longest pictured folder a file lies in (functions/serve before functions).
  const layerOf = (file: string) =>
    [...nodes.entries()]
      .filter(([, dir]) => file === `${dir}.ts` || file.startsWith(`${dir}/`))
      .sort((a, b) => b[1].length - a[1].length)[0]?.[0];
  const files = sourceFiles(repoRoot, ['shared', 'functions', 'infra']);
  const graph = importGraph(repoRoot, files);
  const real = new Set<string>();
  for (const [from, tos] of graph) {
    const a = layerOf(from);
    for (const to of tos) {
      const b = layerOf(to);
      if (a && b && a !== b) real.add(`${a}>${b}`);
    }
  }

  it('names folders that exist, and has arrows', () => {
    expect(nodes.size).toBeGreaterThan(8);
    expect(drawn.size).toBeGreaterThan(10);
    for (const dir of nodes.values()) expect(sourceFiles(repoRoot, [dir]).length, dir).toBeGreaterThan(0);
  });

  it('draws every import between pictured folders', () => {
    expect([...real].filter((e) => !drawn.has(e)).sort()).toEqual([]);
  });

  it('draws no import that does not exist', () => {
    const between = [...drawn].filter((e) => e.split('>').every((id) => nodes.has(id)));
    expect(between.filter((e) => !real.has(e)).sort()).toEqual([]);
  });
});
