// Issue 21 item 3: every reason the system can show on an object has a row in
// docs/troubleshooting.md. The reasons come from the code: the Reason table (shared/errors.ts)
// and the literal reasons in the code that writes conditions (the status builders, the
// SwitchLBRule reconciler, the dispatcher's internal-failure class).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../infra/local/stack.ts';
import { Reason } from '../../shared/domain/errors.ts';

const CONDITION_WRITERS = [
  'shared/domain/vip-status.ts',
  'shared/domain/subnet-status.ts',
  'shared/reconcile/switch-lb-rule.ts',
  'shared/reconcile/failure.ts',
];

/** `'Name'` literals on lines that set a reason (`reason: ...`, `REASON_X = ...`). */
function literalReasons(file: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    if (!/reason|REASON_/.test(line) || /^\s*(\/\/|\*)/.test(line)) continue;
    for (const m of line.matchAll(/'([A-Z][A-Za-z]+)'/g)) found.push(m[1]!);
  }
  return found;
}

const table = readFileSync(join(ROOT, 'docs/troubleshooting.md'), 'utf8');
/** The reasons the document has a row for: the first cell of a table row, in backquotes. */
const documented = new Set([...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]!));

describe('docs/troubleshooting.md', () => {
  it('finds the literal reasons it is meant to find (the scan works)', () => {
    const literal = CONDITION_WRITERS.flatMap(literalReasons);
    expect(literal).toEqual(
      expect.arrayContaining(['Pending', 'Reserved', 'InternalError', 'LoadBalancerReady']),
    );
  });

  it('has a row for every reason in the code', () => {
    const inCode = new Set([...Object.values(Reason), ...CONDITION_WRITERS.flatMap(literalReasons)]);
    const missing = [...inCode].filter((r) => !documented.has(r)).sort();
    expect(missing).toEqual([]);
  });

  it('documents no reason the code cannot set', () => {
    const inCode = new Set<string>([...Object.values(Reason), ...CONDITION_WRITERS.flatMap(literalReasons)]);
    expect([...documented].filter((r) => !inCode.has(r))).toEqual([]);
  });

  it('is linked from the README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('docs/troubleshooting.md');
  });
});
