// The run-time import graph of our own TypeScript (relative imports only) and its cycles.
// Type-only imports and exports are left out: they vanish at run time, so they cannot form a cycle
// that breaks module initialisation. Parsed with TypeScript's own parser, so comments, strings and
// multi-line import lists cannot fool it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

export type ImportGraph = Map<string, Set<string>>;

/** Source files (not tests, not declarations) under `roots`, relative to `base`. */
export function sourceFiles(base: string, roots: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(base, dir))) {
      if (name === 'node_modules') continue;
      const rel = join(dir, name);
      if (statSync(join(base, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const r of roots) if (existsSync(join(base, r))) walk(r);
  return out.sort();
}

/** The relative module specifiers `source` loads at run time. */
export function runtimeImports(source: string, fileName = 'x.ts'): string[] {
  return runtimeSpecifiers(source, fileName).filter((s) => s.startsWith('.'));
}

/** Every module specifier (relative or a package) `source` loads at run time, statically. */
export function runtimeSpecifiers(source: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements) {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(st)) {
      if (st.importClause?.isTypeOnly) continue;
      spec = st.moduleSpecifier;
    } else if (ts.isExportDeclaration(st)) {
      if (st.isTypeOnly) continue;
      spec = st.moduleSpecifier;
    }
    if (spec && ts.isStringLiteral(spec)) out.push(spec.text);
  }
  return out;
}

/** The graph among `files` (paths relative to `base`); imports leaving the set are dropped. */
export function importGraph(base: string, files: string[]): ImportGraph {
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const f of files) {
    const edges = new Set<string>();
    for (const spec of runtimeImports(readFileSync(join(base, f), 'utf8'), f)) {
      const p = normalize(join(dirname(f), spec));
      const hit = [p, `${p}.ts`, p.replace(/\.js$/, '.ts'), join(p, 'index.ts')].find((c) => known.has(c));
      if (hit) edges.add(hit);
    }
    graph.set(f, edges);
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself), sorted. */
export function cycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative so a deep chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { v: string; it: Iterator<string> }[] = [];
    const enter = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      work.push({ v, it: (graph.get(v) ?? new Set()).values() });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const step = top.it.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(top.v)!));
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        if (comp.length > 1 || graph.get(top.v)?.has(top.v)) out.push(comp.sort());
      }
    }
  }
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

export const repoRoot = normalize(join(dirname(new URL(import.meta.url).pathname), '..', '..'));
