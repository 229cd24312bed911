// Label and field selectors as the Kubernetes API parses them, kept pure so store and HTTP share them.

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
};

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; [k: string]: unknown }[];
  [key: string]: unknown;
}

type LabelRequirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type Matcher = (obj: KubeObject) => boolean;

export class SelectorError extends Error {}

/** Splits on commas that are not inside parentheses: `a in (x,y),b=c` has two requirements. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelRequirement(raw: string): LabelRequirement {
  let m = /^!\s*([\w./-]+)$/.exec(raw);
  if (m) return { op: 'notexists', key: m[1] as string };
  m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(raw);
  if (m) {
    const values = (m[3] as string)
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return { op: m[2] as 'in' | 'notin', key: m[1] as string, values };
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(raw);
  if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1] as string, value: m[3] as string };
  m = /^([\w./-]+)$/.exec(raw);
  if (m) return { op: 'exists', key: m[1] as string };
  throw new SelectorError(`unable to parse requirement: ${raw}`);
}

export function parseLabelSelector(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = splitTopLevel(selector).map(parseLabelRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case 'eq':
          return has && v === r.value;
        case 'neq':
          return !has || v !== r.value;
        case 'in':
          return has && r.values.includes(v as string);
        case 'notin':
          return !has || !r.values.includes(v as string);
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        default:
          return false;
      }
    });
  };
}

/** Reads a dotted field path (`spec.nodeName`) as the string a field selector compares with. */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/**
 * `labels` maps the field labels a resource supports (beyond metadata.name and metadata.namespace)
 * to the path compared; without it any path is accepted (the store's own callers).
 */
export function parseFieldSelector(selector: string | undefined, labels?: Record<string, string>): Matcher {
  if (!selector) return () => true;
  const reqs = splitTopLevel(selector).map((raw) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(raw);
    if (!m) throw new SelectorError(`invalid field selector: ${raw}`);
    let path = m[1] as string;
    if (labels && path !== 'metadata.name' && path !== 'metadata.namespace') {
      const mapped = labels[path];
      if (!mapped) throw new SelectorError(`field label not supported: ${path}`);
      path = mapped;
    }
    return { path, neq: m[2] === '!=', value: (m[3] as string).trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.neq);
}
