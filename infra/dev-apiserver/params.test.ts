import { describe, expect, it } from 'vitest';
import {
  boolParam,
  dryRunParam,
  int64Param,
  ListOptionsError,
  listOptions,
  ParamError,
  parseGoDuration,
  requestTimeoutMs,
} from './params.ts';

const q = (s: string) => new URLSearchParams(s);

describe('query parameters as kube-apiserver parses them', () => {
  it('reads booleans as Convert_Slice_string_To_bool: only 0 and any case of false are false', () => {
    for (const v of ['true', 'True', 'TRUE', '1', 't', 'T', 'yes', '', 'banana'])
      expect(boolParam(q(`watch=${v}`), 'watch'), v).toBe(true);
    for (const v of ['false', 'False', 'FALSE', 'fAlSe', '0'])
      expect(boolParam(q(`watch=${v}`), 'watch'), v).toBe(false);
    expect(boolParam(q(''), 'watch')).toBeUndefined();
    // Go's ParseBool would refuse these; the parameter codec does not.
    expect(boolParam(q('watch=f'), 'watch')).toBe(true);
  });

  it('reads integers as strconv.ParseInt(s, 10, 64)', () => {
    expect(int64Param(q('limit=10'), 'limit')).toBe(10);
    expect(int64Param(q('limit=%2B7'), 'limit')).toBe(7);
    expect(int64Param(q('limit=-3'), 'limit')).toBe(-3);
    expect(int64Param(q('limit=007'), 'limit')).toBe(7);
    for (const bad of ['1e2', '0x10', '1.5', ' 1', '1_000', '', 'ten'])
      expect(() => int64Param(q(`limit=${encodeURIComponent(bad)}`), 'limit'), bad).toThrow(ParamError);
    expect(() => int64Param(q('limit=9223372036854775808'), 'limit')).toThrow(/out of range/);
    expect(int64Param(q(''), 'limit')).toBeUndefined();
  });

  it('reads durations as time.ParseDuration and ignores a bad `timeout`, as kube-apiserver does', () => {
    expect(parseGoDuration('30s')).toBe(30_000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('30')).toBeUndefined();
    expect(parseGoDuration('1x')).toBeUndefined();
    expect(requestTimeoutMs(q('timeout=5s'))).toBe(5_000);
    expect(requestTimeoutMs(q('timeout=soon'))).toBe(34_000);
  });

  it('validates list and watch options as ValidateListOptions', () => {
    expect(listOptions(q('watch=t&timeoutSeconds=5')).watch).toBe(true);
    expect(() => listOptions(q('timeoutSeconds=1e2'))).toThrow(ParamError);
    const causes = (s: string) => {
      try {
        listOptions(q(s));
        return [];
      } catch (err) {
        if (err instanceof ListOptionsError) return err.causes.map((c) => c.message);
        throw err;
      }
    };
    expect(causes('resourceVersionMatch=Exact')).toEqual([
      'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    ]);
    expect(causes('resourceVersion=0&resourceVersionMatch=Exact')[0]).toMatch(
      /forbidden for resourceVersion "0"/,
    );
    expect(causes('resourceVersion=5&resourceVersionMatch=Newest')[0]).toMatch(/Unsupported value/);
    expect(causes('sendInitialEvents=true')).toEqual(['Forbidden: sendInitialEvents is forbidden for list']);
    expect(causes('watch=1&sendInitialEvents=true')[0]).toMatch(
      /requires setting resourceVersionMatch to NotOlderThan/,
    );
    expect(causes('watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan')).toEqual([]);
    expect(causes('watch=1&resourceVersionMatch=NotOlderThan')[0]).toMatch(
      /unless sendInitialEvents is provided/,
    );
  });

  it('knows one dry-run value, All', () => {
    expect(dryRunParam(q('dryRun=All'), 'CreateOptions')).toBe(true);
    expect(dryRunParam(q(''), 'CreateOptions')).toBe(false);
    expect(() => dryRunParam(q('dryRun=true'), 'CreateOptions')).toThrow(ListOptionsError);
  });
});
