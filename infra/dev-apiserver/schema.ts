// A structural openAPIV3Schema check for custom resources, as kube-apiserver does on every write:
// unknown fields are pruned (unless x-kubernetes-preserve-unknown-fields), then types, required,
// enum, pattern and bounds are checked. Covers the keywords our CRDs use, not all of OpenAPI.

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

export interface Cause {
  field: string;
  message: string;
}

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

// A schema's patterns are compiled once, not on every write that checks them.
const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(source);
    patterns.set(source, re);
  }
  return re;
}

const sameJson = (a: unknown, b: unknown) =>
  a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Validates and prunes `value` in place; returns the problems found (empty when valid). */
export function validateAndPrune(
  schema: Schema,
  value: unknown,
  path: string,
  pruned: string[] = [],
): Cause[] {
  const causes: Cause[] = [];
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (t !== 'number' && t !== 'string')
      causes.push({ field: path, message: `Invalid value: "${t}": must be an integer or a string` });
    return causes;
  }
  const expected = schema.type;
  const typeOk =
    !expected ||
    (expected === 'integer'
      ? t === 'number' && Number.isInteger(value)
      : expected === 'number'
        ? t === 'number'
        : t === expected);
  if (!typeOk) {
    causes.push({
      field: path,
      message: `Invalid value: "${t === 'number' && !Number.isInteger(value) ? 'number' : t}": ${path} in body must be of type ${expected}: "${t}"`,
    });
    return causes;
  }
  if (schema.enum && !schema.enum.some((e) => sameJson(e, value))) {
    const list = schema.enum.map((e) => JSON.stringify(e)).join(', ');
    causes.push({
      field: path,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${list}`,
    });
  }
  if (typeof value === 'string') {
    if (schema.pattern && !patternOf(schema.pattern).test(value)) {
      causes.push({
        field: path,
        message: `Invalid value: ${JSON.stringify(value)}: ${path} in body should match '${schema.pattern}'`,
      });
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      causes.push({
        field: path,
        message: `Invalid value: ${JSON.stringify(value)}: ${path} in body should be at least ${schema.minLength} chars long`,
      });
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      causes.push({ field: path, message: `Too long: may not be longer than ${schema.maxLength}` });
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      causes.push({
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema.minimum}`,
      });
    if (schema.maximum !== undefined && value > schema.maximum)
      causes.push({
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema.maximum}`,
      });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      causes.push({
        field: path,
        message: `Invalid value: ${value.length}: ${path} in body should have at least ${schema.minItems} items`,
      });
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      causes.push({
        field: path,
        message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      });
    if (schema.items) {
      for (const [i, item] of value.entries())
        causes.push(...validateAndPrune(schema.items as Schema, item, `${path}[${i}]`, pruned));
    }
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) {
      if (obj[r] === undefined) causes.push({ field: `${path}.${r}`, message: 'Required value' });
    }
    for (const [k, v] of Object.entries(obj)) {
      const sub =
        schema.properties?.[k] ??
        (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (sub) causes.push(...validateAndPrune(sub, v, `${path}.${k}`, pruned));
      else if (
        !schema['x-kubernetes-preserve-unknown-fields'] &&
        schema.additionalProperties !== true &&
        (schema.properties || schema.type === 'object')
      ) {
        pruned.push(`${path}.${k}`);
        delete obj[k];
      }
    }
  }
  return causes;
}

/**
 * Checks a whole custom resource: metadata, apiVersion and kind are the server's, not the schema's.
 * Paths of pruned unknown fields go to `pruned` (for fieldValidation=Strict/Warn).
 */
export function validateCustomResource(
  schema: Schema,
  obj: Record<string, unknown>,
  pruned: string[] = [],
): Cause[] {
  const causes: Cause[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
    const sub = schema.properties?.[k];
    if (sub) causes.push(...validateAndPrune(sub, v, k, pruned));
    else if (!schema['x-kubernetes-preserve-unknown-fields']) {
      pruned.push(k);
      delete obj[k];
    }
  }
  for (const r of schema.required ?? [])
    if (obj[r] === undefined) causes.push({ field: r, message: 'Required value' });
  return causes;
}
