// Query parameters parsed the way kube-apiserver's parameter codec parses them
// (apimachinery/pkg/runtime/conversion.go), and ListOptions checked as its validation checks them.
// Pure: the server turns a thrown ParamError into a 400, a ListOptionsError into a 422.

export class ParamError extends Error {}

export interface ListOptionCause {
  field: string;
  message: string;
}

/** Options that fail validation: a 422 Invalid about the options kind (ListOptions, CreateOptions...). */
export class ListOptionsError extends Error {
  constructor(
    readonly causes: ListOptionCause[],
    readonly kind = 'ListOptions',
  ) {
    super(causes.map((c) => `${c.field}: ${c.message}`).join(', '));
  }
}

/**
 * A boolean parameter: absent, "0" and any case of "false" are false; anything else, the empty
 * string and "banana" included, is true. That is Convert_Slice_string_To_bool, not Go's
 * strconv.ParseBool: kube-apiserver never answers 400 to a boolean.
 */
export function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An int64 parameter as strconv.ParseInt(s, 10, 64) reads it: sign and decimal digits only. */
export function int64Param(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?[0-9]+$/.test(v))
    throw new ParamError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n < INT64_MIN || n > INT64_MAX)
    throw new ParamError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return Number(n);
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in milliseconds; undefined when it would fail. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([+-]?)((?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let ns = 0;
  for (const part of (m[2] as string).matchAll(/([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/g))
    ns += Number(part[1]) * (UNIT_NS[part[2] as string] as number);
  return ((m[1] === '-' ? -1 : 1) * ns) / 1e6;
}

/** The `timeout` of a non-watch request: an invalid one is ignored (kube-apiserver logs it), default 34 s. */
export function requestTimeoutMs(q: URLSearchParams): number {
  const v = q.get('timeout');
  const ms = v ? parseGoDuration(v) : undefined;
  return ms ?? 34_000;
}

export interface ListOptions {
  watch: boolean;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks: boolean;
  /** undefined when not sent: a watch without resourceVersion then starts with the current objects */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  limit?: number;
  continue?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Parses and validates list and watch options (ValidateListOptions with the WatchList gate on, as in 1.32). */
export function listOptions(q: URLSearchParams, forceWatch = false): ListOptions {
  const o: ListOptions = {
    watch: forceWatch || (boolParam(q, 'watch') ?? false),
    resourceVersion: q.get('resourceVersion') || undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') || undefined,
    allowWatchBookmarks: boolParam(q, 'allowWatchBookmarks') ?? false,
    sendInitialEvents: boolParam(q, 'sendInitialEvents'),
    timeoutSeconds: int64Param(q, 'timeoutSeconds'),
    limit: int64Param(q, 'limit'),
    continue: q.get('continue') || undefined,
    labelSelector: q.get('labelSelector') || undefined,
    fieldSelector: q.get('fieldSelector') || undefined,
  };
  const causes: ListOptionCause[] = [];
  const match = o.resourceVersionMatch;
  const forbid = (field: string, why: string) => causes.push({ field, message: `Forbidden: ${why}` });
  if (o.watch) {
    if (o.sendInitialEvents !== undefined && match !== 'NotOlderThan')
      forbid(
        'resourceVersionMatch',
        'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      );
    if (match) {
      if (o.sendInitialEvents === undefined)
        forbid(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
        );
      if (match !== 'NotOlderThan')
        causes.push({
          field: 'resourceVersionMatch',
          message: `Unsupported value: ${JSON.stringify(match)}: supported values: "NotOlderThan"`,
        });
      if (o.continue)
        forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
  } else {
    if (match) {
      if (!o.resourceVersion)
        forbid(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        );
      if (o.continue)
        forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan')
        causes.push({
          field: 'resourceVersionMatch',
          message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
        });
      if (match === 'Exact' && o.resourceVersion === '0')
        forbid('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    }
    if (o.sendInitialEvents !== undefined)
      forbid('sendInitialEvents', 'sendInitialEvents is forbidden for list');
  }
  if (causes.length > 0) throw new ListOptionsError(causes);
  return o;
}

/** `dryRun`: absent, or `All` (the only value kube-apiserver knows); anything else is a 422. */
export function dryRunParam(q: URLSearchParams, optionsKind: string): boolean {
  const values = q.getAll('dryRun');
  for (const v of values)
    if (v !== 'All')
      throw new ListOptionsError(
        [
          {
            field: 'dryRun',
            message: `Unsupported value: []string{${values.map((x) => JSON.stringify(x)).join(', ')}}: supported values: "All"`,
          },
        ],
        optionsKind,
      );
  return values.length > 0;
}
