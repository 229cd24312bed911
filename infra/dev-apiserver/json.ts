// Copy and compare JSON values (what objects are here: parsed from JSON or YAML). A recursive copy
// of a small object costs a fraction of structuredClone, which serializes and deserializes it.

export function copyJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyJson(v[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copyJson(x);
  }
  return out as T;
}

/**
 * Equality of JSON values as their encodings would compare once keys are sorted (kube-apiserver
 * encodes an unstructured object's keys in order): key order does not count, undefined is absent.
 * `skip` leaves keys of the top level out.
 */
export function jsonEqual(a: unknown, b: unknown, skip?: (key: string) => boolean): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (x[k] === undefined || skip?.(k)) continue;
    defined++;
    if (!jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined && !skip?.(k)) defined--;
  return defined === 0;
}
