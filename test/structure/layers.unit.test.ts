// The composition root at the edge (issue 15): shared/domain decides from values alone and imports
// nothing outside itself but pure libraries; shared/ never imports the entries or their wiring
// (infra/wiring builds the ports from configuration); and the Workers entry, which serves only the
// reservation API, loads no Kubernetes client, logger or OVSDB client.
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, runtimeImports, sourceFiles } from './import-graph.ts';

/** Every module specifier of `source`, type-only ones included. */
function specifiers(source: string): string[] {
  const sf = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements)
    if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier)
      out.push((st.moduleSpecifier as ts.StringLiteral).text);
  return out;
}

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
const resolve = (from: string, spec: string) => normalize(join(dirname(from), spec));

/** Libraries that decide nothing about the outside world: parsing and validating values. */
const PURE_LIBRARIES = new Set(['ipaddr.js', 'zod']);

describe('layers', () => {
  it('shared/domain imports only shared/domain and pure libraries', () => {
    const files = sourceFiles(repoRoot, ['shared/domain']);
    expect(files).toContain('shared/domain/ownership.ts');
    const outside: string[] = [];
    for (const f of files)
      for (const spec of specifiers(read(f))) {
        const ok = spec.startsWith('.')
          ? resolve(f, spec).startsWith('shared/domain/')
          : PURE_LIBRARIES.has(spec);
        if (!ok) outside.push(`${f} -> ${spec}`);
      }
    expect(outside).toEqual([]);
  });

  it('shared/ never imports functions/ or infra/ (the entries and their wiring)', () => {
    const upward: string[] = [];
    const files = sourceFiles(repoRoot, ['shared']);
    expect(files.length).toBeGreaterThan(100);
    for (const f of files)
      for (const spec of specifiers(read(f)))
        if (spec.startsWith('.') && /^(functions|infra)\//.test(resolve(f, spec)))
          upward.push(`${f} -> ${spec}`);
    expect(upward).toEqual([]);
  });

  it('the Workers entry loads no Kubernetes client, pino or OVSDB client', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      const source = read(f);
      for (const spec of runtimeImports(source, f)) walk(resolve(f, spec));
      // bare specifiers of run-time imports (runtimeImports keeps only relative ones)
      const sf = ts.createSourceFile(f, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
      for (const st of sf.statements)
        if (ts.isImportDeclaration(st) && !st.importClause?.isTypeOnly) {
          const spec = (st.moduleSpecifier as ts.StringLiteral).text;
          if (!spec.startsWith('.')) packages.add(spec);
        }
    };
    walk('functions/serve/worker.ts');
    expect(seen).toContain('shared/ipam/redis/redis-allocator.ts'); // the walk reached the allocator
    expect(packages).toContain('ioredis');
    for (const p of ['@kubernetes/client-node', 'pino', 'undici']) expect(packages).not.toContain(p);
    // /readyz's checks name the API server's error class (no client in it)
    const clients = [...seen].filter(
      (f) => f.startsWith('shared/ovsdb/') || (f.startsWith('shared/kube/') && f !== 'shared/kube/errors.ts'),
    );
    expect(clients).toEqual([]);
  });
});
