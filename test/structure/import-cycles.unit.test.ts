// The layers form a tree: no module in shared/, functions/ or infra/ reaches itself through its
// own run-time imports. A cycle makes initialisation order decide whether an import is defined yet,
// and hides which layer sits below which (issue 15).
import { describe, expect, it } from 'vitest';
import { cycles, importGraph, repoRoot, runtimeImports, sourceFiles } from './import-graph.ts';

describe('import graph', () => {
  it('has no cycle in shared/, functions/ or infra/', () => {
    const files = sourceFiles(repoRoot, ['shared', 'functions', 'infra']);
    // A wrong root would make the check pass vacuously.
    expect(files).toContain('shared/reconcile/vip.ts');
    expect(files).toContain('functions/app.ts');
    const graph = importGraph(repoRoot, files);
    expect(graph.get('shared/reconcile/pod.ts')).toContain('shared/reconcile/vip.ts');
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle, and only the files in it', () => {
    const g = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts', 'd.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set<string>()],
      ['e.ts', new Set(['e.ts'])],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
  });

  it('counts run-time imports and re-exports, not type-only ones', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type { B } from './b.ts';",
      "import { type C } from './c.ts'; // kept as a side-effect import under verbatimModuleSyntax",
      "export { d } from './d.ts';",
      "export type { E } from './e.ts';",
      "import './f.ts';",
      "import {\n  g,\n  h,\n} from './g.ts';",
      "import x from 'node:fs';",
      "// import { z } from './z.ts';",
      'const s = "import { y } from \'./y.ts\'";',
    ].join('\n');
    expect(runtimeImports(src)).toEqual(['./a.ts', './c.ts', './d.ts', './f.ts', './g.ts']);
  });
});
