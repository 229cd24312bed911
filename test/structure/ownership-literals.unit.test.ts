// One notion of ownership (issue 15): the owner prefixes of allocator keys (`vip/`, `pod/`,
// `manual/`, `ip/`, `hc/`) and the `_v6` suffix of a dual-stack Vip's second port are written in
// shared/domain/ownership.ts only. Anywhere else they are built and read back through its
// functions, so the sweep, the audit and the handlers cannot drift apart on who owns what.
// Tests, docs and bench/ (which checks results the way a user would) may spell them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, sourceFiles } from './import-graph.ts';

const THE_MODULE = 'shared/domain/ownership.ts';
const OWNER_PREFIX = /^(vip|pod|manual|ip|hc)\//;
const V6_SUFFIX = '_v6';

/** String and template literal texts of `source` that spell an owner prefix or the suffix. */
function ownershipLiterals(source: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    // module specifiers are paths, not owners
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      if (OWNER_PREFIX.test(node.text) || node.text.includes(V6_SUFFIX)) out.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('owner prefixes and the _v6 suffix', () => {
  it(`are spelt only in ${THE_MODULE} (tests and docs aside)`, () => {
    const files = sourceFiles(repoRoot, ['shared', 'functions', 'infra']);
    expect(files).toContain(THE_MODULE);
    expect(files).toContain('shared/audit/compare.ts');
    const found: string[] = [];
    for (const f of files) {
      if (f === THE_MODULE) continue;
      for (const text of ownershipLiterals(readFileSync(join(repoRoot, f), 'utf8'), f))
        found.push(`${f}: ${JSON.stringify(text)}`);
    }
    expect(found).toEqual([]);
    // ...and the module itself does spell them (the scan would pass vacuously otherwise).
    const own = ownershipLiterals(readFileSync(join(repoRoot, THE_MODULE), 'utf8'));
    expect(own).toContain('manual/');
    expect(own).toContain(V6_SUFFIX);
  });

  it('finds literals, templates and not comments or import paths', () => {
    const src = `
      const a = 'vip/' + x;
      const b = \`pod/\${port}\`;
      const c = \`\${vip}_v6\`;
      const d = s.startsWith("manual/");
      // 'hc/' in a comment is fine
      import { y } from './pod/ip/x.ts';
      const e = 'kube-ovn/vip';
      const f = \`Reservation/\${s}/\${o}\`;
      const g = { 'ip/': 1 };
    `;
    expect(ownershipLiterals(src)).toEqual(['vip/', 'pod/', '_v6', 'manual/', 'ip/']);
  });
});
