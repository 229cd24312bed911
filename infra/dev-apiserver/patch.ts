// The three patch types of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
// and strategic merge patch, the one kubectl apply sends for built-in kinds (lists merged by key,
// `$patch`, `$retainKeys`, `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`).

import { copyJson } from './json.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export class PatchError extends Error {
  constructor(
    message: string,
    /** a failed `test` operation is a conflict in intent, the rest are malformed patches */
    readonly kind: 'invalid' | 'test-failed' = 'invalid',
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = copyJson;

/**
 * The result shares every part the patch does not touch with `target` (copied along the patched
 * paths only, not deeply): `target` is left as it was, and the result must be copied before it is
 * changed in place.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as Json;
  }
  return out;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function locate(doc: Json, tokens: string[]): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)] as Json;
    else if (isObject(cur)) cur = cur[t] as Json;
    else cur = undefined as unknown as Json;
    if (cur === undefined) throw new PatchError(`path not found: /${tokens.join('/')}`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] as string };
}

function getAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = locate(doc, tokens);
  const v = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
  if (v === undefined) throw new PatchError(`path not found: ${pointer}`);
  return v;
}

function arrayIndex(arr: Json[], key: string, forInsert: boolean): number {
  if (key === '-' && forInsert) return arr.length;
  const i = Number(key);
  if (!/^\d+$/.test(key) || i > arr.length || (!forInsert && i === arr.length)) {
    throw new PatchError(`array index out of range: ${key}`);
  }
  return i;
}

function addAt(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, key } = locate(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else throw new PatchError(`path not found: ${pointer}`);
  return doc;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  const { parent, key } = locate(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else throw new PatchError(`path not found: ${pointer}`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = clone(target) as Json;
  for (const raw of ops as JsonPatchOp[]) {
    const value = clone(raw.value) as Json;
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, value);
        break;
      case 'remove':
        doc = removeAt(doc, raw.path);
        break;
      case 'replace':
        getAt(doc, raw.path);
        doc = addAt(removeAt(doc, raw.path), raw.path, value);
        break;
      case 'move': {
        const v = getAt(doc, raw.from ?? '');
        doc = addAt(removeAt(doc, raw.from ?? ''), raw.path, v);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, clone(getAt(doc, raw.from ?? '')));
        break;
      case 'test': {
        let actual: Json | undefined;
        try {
          actual = getAt(doc, raw.path);
        } catch {
          actual = undefined;
        }
        if (JSON.stringify(actual) !== JSON.stringify(value)) {
          throw new PatchError(`testing value ${raw.path} failed`, 'test-failed');
        }
        break;
      }
      default:
        throw new PatchError(`unknown JSON patch operation: ${(raw as { op: string }).op}`);
    }
  }
  return doc;
}

/**
 * How lists merge in a strategic merge patch, by field name. kube's real table is per type (struct
 * tags); field names are unambiguous enough for Pods, StatefulSets and object metadata.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  volumeClaimTemplates: 'metadata',
};
/** Lists of scalars that merge as sets instead of being replaced. */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  return smpObject(isObject(target) ? clone(target) : {}, patch as JsonObject);
}

function smpObject(target: JsonObject, patch: JsonObject): Json {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return null;
  let out: JsonObject = target;
  if (directive === 'replace') {
    out = {};
  }
  const retain = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(ORDER)) continue;
    if (k.startsWith(DELETE_FROM)) {
      const field = k.slice(DELETE_FROM.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(v)) {
        out[field] = current.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = smpList(k, out[k], v);
      continue;
    }
    if (isObject(v)) {
      const merged = smpObject(isObject(out[k]) ? (out[k] as JsonObject) : {}, v);
      if (merged === null) delete out[k];
      else out[k] = merged;
      continue;
    }
    out[k] = v;
  }
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(ORDER) || !Array.isArray(order)) continue;
    const field = k.slice(ORDER.length);
    const list = out[field];
    if (Array.isArray(list)) out[field] = applyOrder(field, list, order);
  }
  return out;
}

function smpList(field: string, current: Json | undefined, patch: Json[]): Json[] {
  const mergeKey = MERGE_KEYS[field];
  const base = Array.isArray(current) ? current : [];
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace'));
  }
  if (MERGED_SCALAR_LISTS.has(field)) {
    const out = [...base];
    for (const v of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
    return out;
  }
  if (!mergeKey || !patch.every(isObject)) return clone(patch);
  const out = clone(base);
  const keyOf = (o: Json) => JSON.stringify(isObject(o) ? o[mergeKey] : undefined);
  for (const item of patch as JsonObject[]) {
    const i = out.findIndex((x) => keyOf(x) === keyOf(item));
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = smpObject(out[i] as JsonObject, item);
    else out.push(smpObject({}, item));
  }
  return out;
}

/** `$setElementOrder`: listed elements in that order first, others after in their current order. */
function applyOrder(field: string, list: Json[], order: Json[]): Json[] {
  const mergeKey = MERGE_KEYS[field];
  const keyOf = (o: Json) => JSON.stringify(mergeKey && isObject(o) ? o[mergeKey] : o);
  const orderKeys = order.map(keyOf);
  const rank = (o: Json) => {
    const i = orderKeys.indexOf(keyOf(o));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return list
    .map((v, i) => ({ v, i }))
    .sort((a, b) => rank(a.v) - rank(b.v) || a.i - b.i)
    .map((x) => x.v);
}
