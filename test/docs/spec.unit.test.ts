// Issue 21 item 1: docs/spec.md is kept true by the tests where it lists what the code defines:
// the reasons, and the Vip columns kubectl prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../infra/local/stack.ts';
import { Reason } from '../../shared/domain/errors.ts';

const spec = readFileSync(join(ROOT, 'docs/spec.md'), 'utf8');

describe('docs/spec.md', () => {
  it("lists exactly the reasons the code has (plus InternalError, the dispatcher's)", () => {
    const section = spec.slice(spec.indexOf('## Reasons'));
    const listed = [...section.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]!);
    expect(new Set(listed)).toEqual(new Set([...Object.values(Reason), 'InternalError']));
  });

  it('shows the Vip columns the CRD prints, default and -o wide', () => {
    const crd = parse(readFileSync(join(ROOT, 'infra/manifests/crds/vips.kubeovn.io.yaml'), 'utf8'));
    const cols = crd.spec.versions[0].additionalPrinterColumns as { name: string; priority?: number }[];
    const normal = ['NAME', ...cols.filter((c) => !c.priority).map((c) => c.name)].join(' ');
    const wide = cols
      .filter((c) => c.priority)
      .map((c) => c.name)
      .join(' ');
    expect(spec).toContain(`\`kubectl get vip\` columns: \`${normal}\``);
    expect(spec).toContain(`\`-o wide\` adds\n\`${wide}\``);
  });
});
