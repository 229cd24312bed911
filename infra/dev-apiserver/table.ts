// The `Table` form (meta.k8s.io/v1) that `kubectl get` asks for: a custom resource's
// additionalPrinterColumns, or fixed columns for the built-ins, read with JSONPath-like paths.
import type { PrinterColumn, ResourceInfo } from './resources.ts';
import type { KubeObject } from './selectors.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: (PrinterColumn & { format: string; description: string; priority: number })[];
  rows: { cells: unknown[]; object?: unknown }[];
}

/**
 * Evaluates the subset of JSONPath printer columns use: `.a.b`, `.a[0].b`, `.a[*].b`, and
 * `.a[?(@.type=="Ready")].status`. Returns every match.
 */
export function evalPath(obj: unknown, path: string): unknown[] {
  const tokens = tokenize(path.replace(/^\{|\}$/g, ''));
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if (t.kind === 'field') {
        if (typeof v === 'object' && !Array.isArray(v)) {
          const f = (v as Record<string, unknown>)[t.name];
          if (f !== undefined) next.push(f);
        }
      } else if (Array.isArray(v)) {
        if (t.kind === 'all') next.push(...v);
        else if (t.kind === 'index') {
          const item = v[t.index < 0 ? v.length + t.index : t.index];
          if (item !== undefined) next.push(item);
        } else
          next.push(...v.filter((item) => evalPath(item, `.${t.field}`).some((x) => String(x) === t.value)));
      }
    }
    cur = next;
  }
  return cur;
}

type Token =
  | { kind: 'field'; name: string }
  | { kind: 'all' }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; field: string; value: string };

function tokenize(path: string): Token[] {
  const tokens: Token[] = [];
  const re = /\.([^.[\]]+)|\[\*\]|\[(-?\d+)\]|\[\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) tokens.push({ kind: 'field', name: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'index', index: Number(m[2]) });
    else if (m[3] !== undefined) tokens.push({ kind: 'filter', field: m[3], value: m[4] ?? '' });
    else tokens.push({ kind: 'all' });
  }
  return tokens;
}

/** kube's duration.HumanDuration: `45s`, `3m20s`, `2d5h`... */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

const since = (ts: unknown, now: Date) =>
  typeof ts === 'string' ? humanDuration(now.getTime() - Date.parse(ts)) : '<unknown>';

interface Column {
  def: PrinterColumn;
  cell: (o: KubeObject, now: Date) => unknown;
}

const col = (name: string, type: string, cell: Column['cell'], priority = 0, format = ''): Column => ({
  def: { name, type, jsonPath: '', priority, format },
  cell,
});

const age = col('Age', 'string', (o, now) => since(o.metadata.creationTimestamp, now));

function fromPrinterColumn(c: PrinterColumn): Column {
  return {
    def: c,
    cell: (o, now) => {
      const [v] = evalPath(o, c.jsonPath);
      if (v === undefined || v === null) return null;
      if (c.type === 'date') return since(v, now);
      if (typeof v === 'object') return JSON.stringify(v);
      return v;
    },
  };
}

type Anyish = Record<string, unknown> & { [k: string]: Anyish };
const get = (o: KubeObject, path: string) => evalPath(o, path)[0] as Anyish | string | number | undefined;

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  '/pods': [
    col('Ready', 'string', (o) => {
      const containers = (get(o, '.spec.containers') as unknown as unknown[] | undefined) ?? [];
      const statuses =
        (get(o, '.status.containerStatuses') as unknown as { ready?: boolean }[] | undefined) ?? [];
      return `${statuses.filter((s) => s.ready).length}/${containers.length}`;
    }),
    col('Status', 'string', (o) =>
      o.metadata.deletionTimestamp ? 'Terminating' : (get(o, '.status.phase') ?? 'Pending'),
    ),
    col('Restarts', 'string', () => '0'),
    age,
    col('IP', 'string', (o) => get(o, '.status.podIP') ?? '<none>', 1),
    col('Node', 'string', (o) => get(o, '.spec.nodeName') ?? '<none>', 1),
  ],
  '/namespaces': [col('Status', 'string', (o) => get(o, '.status.phase') ?? 'Active'), age],
  'apps/statefulsets': [
    col('Ready', 'string', (o) => `${get(o, '.status.readyReplicas') ?? 0}/${get(o, '.spec.replicas') ?? 1}`),
    age,
  ],
  'kubevirt.io/virtualmachines': [
    age,
    col('Status', 'string', (o) => get(o, '.status.printableStatus') ?? ''),
    col('Ready', 'string', (o) => get(o, '.status.conditions[?(@.type=="Ready")].status') ?? 'False'),
  ],
  'apiextensions.k8s.io/customresourcedefinitions': [
    col('Created At', 'date', (o) => o.metadata.creationTimestamp ?? null),
  ],
};

function columnsFor(info: ResourceInfo): Column[] {
  const name = col('Name', 'string', (o) => o.metadata.name ?? '', 0, 'name');
  name.def.description = 'Name must be unique within a namespace.';
  if (info.printerColumns?.length) return [name, ...info.printerColumns.map(fromPrinterColumn)];
  return [name, ...(BUILTIN_COLUMNS[`${info.group}/${info.resource}`] ?? [age])];
}

function rowObject(o: KubeObject, include: IncludeObject) {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(
  info: ResourceInfo,
  objects: KubeObject[],
  opts: { resourceVersion?: string; includeObject?: IncludeObject; noHeaders?: boolean; now?: Date } = {},
): Table {
  const now = opts.now ?? new Date();
  const cols = columnsFor(info);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: opts.noHeaders
      ? []
      : cols.map((c) => ({
          ...c.def,
          format: c.def.format ?? '',
          description: c.def.description ?? '',
          priority: c.def.priority ?? 0,
        })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o, now)),
      object: rowObject(o, opts.includeObject ?? 'Metadata'),
    })),
  };
}
