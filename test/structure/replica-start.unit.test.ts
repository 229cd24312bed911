// A function replica loads @kubernetes/client-node (a third of its module loading, about 330 ms
// compiled) only once it listens or its first API call asks (infra/wiring/controller.ts): no
// module its entry reaches through static run-time imports may import the package.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph, repoRoot, runtimeSpecifiers, sourceFiles } from './import-graph.ts';

/** The files `entry` reaches through static run-time imports (itself included). */
function reached(entry: string): string[] {
  const graph = importGraph(repoRoot, sourceFiles(repoRoot, ['shared', 'functions', 'infra']));
  const seen = new Set([entry]);
  const todo = [entry];
  while (todo.length > 0)
    for (const next of graph.get(todo.pop()!) ?? []) if (!seen.has(next)) todo.push(next) && seen.add(next);
  return [...seen].sort();
}

describe('a function replica’s start', () => {
  it('imports no @kubernetes/client-node module statically', () => {
    const files = reached('functions/serve/node.ts');
    // A wrong root would make the check pass vacuously: the wiring and the kube client are reached.
    expect(files).toContain('infra/wiring/controller.ts');
    expect(files).toContain('shared/kube/api.ts');
    const importers = files.filter((f) =>
      runtimeSpecifiers(readFileSync(join(repoRoot, f), 'utf8'), f).some((s) => s.startsWith('@kubernetes/')),
    );
    expect(importers).toEqual([]);
    // Where it is loaded from instead, for the record.
    expect(runtimeSpecifiers(readFileSync(join(repoRoot, 'shared/kube/kubeconfig.ts'), 'utf8'))).toContain(
      '@kubernetes/client-node',
    );
  });
});
