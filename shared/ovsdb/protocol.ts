// RFC 7047 types and their JSON notation. Nothing here knows any particular schema: values are
// atoms, sets and maps; operations are plain data built by the functions below and sent as one
// `transact` by the client.

/** A row's UUID as the server names it (`["uuid", "..."]` on the wire). */
export class Uuid {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** A UUID named inside one transaction (`["named-uuid", "..."]`), bound by an insert's `uuid-name`. */
export class NamedUuid {
  constructor(readonly name: string) {}
}

export type Atom = string | number | boolean | Uuid | NamedUuid;

export class OvsSet<T extends Atom = Atom> {
  constructor(readonly values: readonly T[]) {}
}

export class OvsMap<K extends Atom = Atom, V extends Atom = Atom> {
  constructor(readonly entries: readonly (readonly [K, V])[]) {}
}

export type Value = Atom | OvsSet | OvsMap;
export type Row = Record<string, Value>;

export const uuid = (value: string) => new Uuid(value);
export const namedUuid = (name: string) => new NamedUuid(name);
export const set = <T extends Atom>(values: Iterable<T>) => new OvsSet<T>([...values]);
/** A string map from a plain record (the common case: options, external_ids, other_config). */
export const map = (record: Record<string, string>) => new OvsMap<string, string>(Object.entries(record));

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

// ---------------------------------------------------------------------------------------------
// Notation <-> JSON

export function toJson(value: Value): unknown {
  if (value instanceof Uuid) return ['uuid', value.value];
  if (value instanceof NamedUuid) return ['named-uuid', value.name];
  if (value instanceof OvsSet) return ['set', value.values.map(toJson)];
  if (value instanceof OvsMap) return ['map', value.entries.map(([k, v]) => [toJson(k), toJson(v)])];
  return value;
}

function atomFromJson(json: unknown): Atom {
  if (Array.isArray(json)) {
    if (json[0] === 'uuid' && typeof json[1] === 'string') return new Uuid(json[1]);
    if (json[0] === 'named-uuid' && typeof json[1] === 'string') return new NamedUuid(json[1]);
    throw new TypeError(`not an OVSDB atom: ${JSON.stringify(json)}`);
  }
  if (typeof json === 'string' || typeof json === 'number' || typeof json === 'boolean') return json;
  throw new TypeError(`not an OVSDB atom: ${JSON.stringify(json)}`);
}

export function fromJson(json: unknown): Value {
  if (Array.isArray(json) && json[0] === 'set' && Array.isArray(json[1])) {
    return new OvsSet(json[1].map(atomFromJson));
  }
  if (Array.isArray(json) && json[0] === 'map' && Array.isArray(json[1])) {
    return new OvsMap(
      json[1].map((pair: unknown) => {
        if (!Array.isArray(pair) || pair.length !== 2)
          throw new TypeError(`bad map pair: ${JSON.stringify(pair)}`);
        return [atomFromJson(pair[0]), atomFromJson(pair[1])] as const;
      }),
    );
  }
  return atomFromJson(json);
}

export function rowToJson(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = toJson(v);
  return out;
}

export function rowFromJson(json: unknown): Row {
  const out: Row = {};
  if (json && typeof json === 'object') {
    for (const [k, v] of Object.entries(json)) out[k] = fromJson(v);
  }
  return out;
}

// Decoding helpers for typed models: a one-element set comes as a bare atom, an empty optional as
// an empty set, so readers normalise here rather than at every call site.

export function setValues(value: Value | undefined): Atom[] {
  if (value === undefined) return [];
  if (value instanceof OvsSet) return [...value.values];
  if (value instanceof OvsMap) throw new TypeError('expected a set, got a map');
  return [value];
}

export function optional(value: Value | undefined): Atom | undefined {
  return setValues(value)[0];
}

export function atomString(a: Atom): string {
  if (a instanceof Uuid) return a.value;
  if (a instanceof NamedUuid) return a.name;
  return String(a);
}

export function mapRecord(value: Value | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value instanceof OvsMap) for (const [k, v] of value.entries) out[atomString(k)] = atomString(v);
  return out;
}

export function uuidString(value: Value | undefined): string {
  const a = optional(value);
  if (!(a instanceof Uuid))
    throw new TypeError(`expected a uuid, got ${JSON.stringify(toJson(value ?? ''))}`);
  return a.value;
}

// ---------------------------------------------------------------------------------------------
// Conditions and mutations

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Condition = readonly [column: string, fn: ConditionFunction, value: Value];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = readonly [column: string, mutator: Mutator, value: Value];

export const where = (column: string, fn: ConditionFunction, value: Value): Condition => [column, fn, value];
export const whereUuid = (u: string | Uuid | NamedUuid): Condition => [
  '_uuid',
  '==',
  typeof u === 'string' ? new Uuid(u) : u,
];
export const mutation = (column: string, mutator: Mutator, value: Value): Mutation => [
  column,
  mutator,
  value,
];

// ---------------------------------------------------------------------------------------------
// Operations (RFC 7047 section 5.2)

export type Operation =
  | { op: 'insert'; table: string; row: Row; uuidName?: string }
  | { op: 'select'; table: string; where: readonly Condition[]; columns?: readonly string[] }
  | { op: 'update'; table: string; where: readonly Condition[]; row: Row }
  | { op: 'mutate'; table: string; where: readonly Condition[]; mutations: readonly Mutation[] }
  | { op: 'delete'; table: string; where: readonly Condition[] }
  | {
      op: 'wait';
      table: string;
      where: readonly Condition[];
      columns: readonly string[];
      until: '==' | '!=';
      rows: readonly Row[];
      timeout?: number;
    }
  | { op: 'commit'; durable: boolean }
  | { op: 'abort' }
  | { op: 'comment'; comment: string }
  | { op: 'assert'; lock: string };

export const op = {
  insert: (table: string, row: Row, uuidName?: string): Operation =>
    uuidName ? { op: 'insert', table, row, uuidName } : { op: 'insert', table, row },
  select: (table: string, conditions: readonly Condition[], columns?: readonly string[]): Operation =>
    columns
      ? { op: 'select', table, where: conditions, columns }
      : { op: 'select', table, where: conditions },
  update: (table: string, conditions: readonly Condition[], row: Row): Operation => ({
    op: 'update',
    table,
    where: conditions,
    row,
  }),
  mutate: (table: string, conditions: readonly Condition[], mutations: readonly Mutation[]): Operation => ({
    op: 'mutate',
    table,
    where: conditions,
    mutations,
  }),
  delete: (table: string, conditions: readonly Condition[]): Operation => ({
    op: 'delete',
    table,
    where: conditions,
  }),
  /**
   * Fails the whole transaction unless the rows matching `conditions`, projected on `columns`, are
   * exactly (`==`) or not (`!=`) `rows`. With timeout 0 it never blocks: it is a compare-and-swap guard.
   */
  wait: (
    table: string,
    conditions: readonly Condition[],
    columns: readonly string[],
    rows: readonly Row[],
    until: '==' | '!=' = '==',
    timeout = 0,
  ): Operation => ({ op: 'wait', table, where: conditions, columns, until, rows, timeout }),
  comment: (comment: string): Operation => ({ op: 'comment', comment }),
  commit: (durable = true): Operation => ({ op: 'commit', durable }),
};

function conditionToJson(c: Condition): unknown {
  return [c[0], c[1], toJson(c[2])];
}

export function operationToJson(o: Operation): Record<string, unknown> {
  switch (o.op) {
    case 'insert':
      return o.uuidName
        ? { op: 'insert', table: o.table, row: rowToJson(o.row), 'uuid-name': o.uuidName }
        : { op: 'insert', table: o.table, row: rowToJson(o.row) };
    case 'select':
      return {
        op: 'select',
        table: o.table,
        where: o.where.map(conditionToJson),
        ...(o.columns && { columns: o.columns }),
      };
    case 'update':
      return { op: 'update', table: o.table, where: o.where.map(conditionToJson), row: rowToJson(o.row) };
    case 'mutate':
      return {
        op: 'mutate',
        table: o.table,
        where: o.where.map(conditionToJson),
        mutations: o.mutations.map((m) => [m[0], m[1], toJson(m[2])]),
      };
    case 'delete':
      return { op: 'delete', table: o.table, where: o.where.map(conditionToJson) };
    case 'wait':
      return {
        op: 'wait',
        table: o.table,
        where: o.where.map(conditionToJson),
        columns: o.columns,
        until: o.until,
        rows: o.rows.map(rowToJson),
        ...(o.timeout !== undefined && { timeout: o.timeout }),
      };
    default:
      return { ...o };
  }
}

/** One entry of a transact reply, decoded. */
export interface OperationResult {
  uuid?: string;
  count?: number;
  rows?: Row[];
  error?: string;
  details?: string;
}

export function resultFromJson(json: unknown): OperationResult {
  const r = (json ?? {}) as Record<string, unknown>;
  const out: OperationResult = {};
  if (Array.isArray(r.uuid) && r.uuid[0] === 'uuid') out.uuid = String(r.uuid[1]);
  if (typeof r.count === 'number') out.count = r.count;
  if (Array.isArray(r.rows)) out.rows = r.rows.map(rowFromJson);
  if (typeof r.error === 'string') out.error = r.error;
  if (typeof r.details === 'string') out.details = r.details;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Monitors (RFC 7047 4.1.5 + the monitor_cond / monitor_cond_since extensions of ovsdb-server)

export interface MonitorRequest {
  columns?: readonly string[];
  where?: readonly Condition[];
  select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}

export function monitorRequestToJson(r: MonitorRequest): Record<string, unknown> {
  return {
    ...(r.columns && { columns: r.columns }),
    ...(r.where && { where: r.where.map(conditionToJson) }),
    ...(r.select && { select: r.select }),
  };
}

/** One row's change in update2 notation: `modify` carries a diff (sets: toggled elements). */
export type RowUpdate2 =
  | { initial: Row }
  | { insert: Row }
  | { modify: Row }
  | { delete: Record<string, never> | null };

export type TableUpdates2 = Record<string, Record<string, RowUpdate2>>;

/** One row's change as update2/update3 send it (undefined: none of the four kinds). */
export function rowUpdate2FromJson(change: Record<string, unknown>): RowUpdate2 | undefined {
  if ('initial' in change) return { initial: rowFromJson(change.initial) };
  if ('insert' in change) return { insert: rowFromJson(change.insert) };
  if ('modify' in change) return { modify: rowFromJson(change.modify) };
  if ('delete' in change) return { delete: null };
  return undefined;
}

/** Table updates with each row's change still as JSON (see MonitorSpec.onRawUpdate). */
export type RawTableUpdates = Record<string, Record<string, Record<string, unknown>>>;

export function tableUpdates2FromJson(json: unknown): TableUpdates2 {
  const out: TableUpdates2 = {};
  if (!json || typeof json !== 'object') return out;
  for (const [table, rows] of Object.entries(json as Record<string, unknown>)) {
    const t: Record<string, RowUpdate2> = {};
    for (const [id, change] of Object.entries((rows ?? {}) as Record<string, Record<string, unknown>>)) {
      const u = rowUpdate2FromJson(change);
      if (u) t[id] = u;
    }
    out[table] = t;
  }
  return out;
}

/** How each column of a table is encoded; a one-element set looks like an atom without it. */
export type ColumnKinds = Record<string, 'atom' | 'set' | 'map'>;

/** Column kinds of one table from a schema as `get_schema` returns it. */
export function columnKinds(schema: unknown, table: string): ColumnKinds {
  const cols = (schema as { tables?: Record<string, { columns?: Record<string, { type: unknown }> }> })
    ?.tables?.[table]?.columns;
  const out: ColumnKinds = { _uuid: 'atom', _version: 'atom' };
  for (const [name, c] of Object.entries(cols ?? {})) {
    const t = c.type as string | { value?: unknown; max?: number | string; min?: number };
    if (typeof t === 'string') out[name] = 'atom';
    else if (t.value !== undefined) out[name] = 'map';
    // An optional column (max 1) is a set in the schema, but its update2 diff carries the new
    // value, not a set difference (verified against ovsdb-server 3.1): it is replaced like a scalar.
    else if ((t.max ?? 1) === 1) out[name] = 'atom';
    else out[name] = 'set';
  }
  return out;
}

/**
 * Applies an update2 `modify` diff to a full row (RFC 7047 extension semantics): scalars are
 * replaced, set elements in the diff are toggled, map keys are added, removed or changed.
 */
export function applyModify(row: Row, diff: Row, kinds: ColumnKinds = {}): Row {
  const out: Row = { ...row };
  for (const [col, d] of Object.entries(diff)) {
    const cur = row[col];
    const kind = kinds[col];
    if (kind === 'atom') {
      out[col] = d;
    } else if (kind === 'map' || d instanceof OvsMap || cur instanceof OvsMap) {
      const m = new Map<string, [Atom, Atom]>();
      if (cur instanceof OvsMap) for (const [k, v] of cur.entries) m.set(atomString(k), [k, v]);
      if (d instanceof OvsMap) {
        for (const [k, v] of d.entries) {
          const key = atomString(k);
          const had = m.get(key);
          if (had && atomString(had[1]) === atomString(v)) m.delete(key);
          else m.set(key, [k, v]);
        }
      }
      out[col] = new OvsMap([...m.values()]);
    } else if (kind === 'set' || d instanceof OvsSet || cur instanceof OvsSet) {
      const m = new Map<string, Atom>();
      for (const a of setValues(cur)) m.set(atomString(a), a);
      for (const a of setValues(d)) {
        const key = atomString(a);
        if (m.has(key)) m.delete(key);
        else m.set(key, a);
      }
      out[col] = new OvsSet([...m.values()]);
    } else {
      out[col] = d;
    }
  }
  return out;
}
