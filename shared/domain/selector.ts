// The Vip selector: a list of `"key: value"` strings, all of which must hold (AND). Unlike
// kube-ovn, a malformed item is an error naming the item, never silently skipped (SPEC §1).
import { isLabelKey, isLabelValue } from './labels.ts';

export interface LabelRequirement {
  key: string;
  value: string;
}

export type SelectorParse =
  | { ok: true; requirements: LabelRequirement[] }
  | { ok: false; errors: SelectorItemError[] };

export interface SelectorItemError {
  /** Position of the item in the list. */
  index: number;
  item: string;
  message: string;
}

/** Parses one `"key: value"` item (split on the first colon, both sides trimmed). */
export function parseSelectorItem(item: string): LabelRequirement | string {
  const colon = item.indexOf(':');
  if (colon < 0) return `selector item "${item}" has no colon; expected "key: value"`;
  const key = item.slice(0, colon).trim();
  const value = item.slice(colon + 1).trim();
  if (key === '') return `selector item "${item}" has an empty key`;
  if (!isLabelKey(key)) return `selector item "${item}": "${key}" is not a valid label key`;
  if (!isLabelValue(value)) return `selector item "${item}": "${value}" is not a valid label value`;
  return { key, value };
}

/**
 * Parses a selector list. Duplicated identical items collapse into one; the same key with two
 * different values is kept (it can never match, which is what AND means) rather than guessed at.
 */
export function parseSelector(items: readonly string[]): SelectorParse {
  const errors: SelectorItemError[] = [];
  const requirements: LabelRequirement[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const r = parseSelectorItem(item);
    if (typeof r === 'string') {
      errors.push({ index, item, message: r });
      return;
    }
    const id = `${r.key}\u0000${r.value}`;
    if (seen.has(id)) return;
    seen.add(id);
    requirements.push(r);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, requirements };
}

/** The canonical text of a requirement, `key: value`, as status.selector shows it. */
export function formatRequirement(r: LabelRequirement): string {
  return `${r.key}: ${r.value}`;
}

/** True when every requirement holds on `labels`; an empty selector matches everything. */
export function matchesSelector(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return requirements.every((r) => Object.hasOwn(l, r.key) && l[r.key] === r.value);
}
