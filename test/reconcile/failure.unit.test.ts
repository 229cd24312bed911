// The failure classes of createDispatch, decided from the error alone (no servers).
import { describe, expect, it } from 'vitest';
import { DomainError, Reason } from '../../shared/domain/errors.ts';
import { ConcurrentChangeError } from '../../shared/ipam/allocator.ts';
import { KubeApiError, KubeConflictError } from '../../shared/kube/errors.ts';
import { ConstraintViolation, Timeout, WaitFailed } from '../../shared/ovsdb/errors.ts';
import { classifyFailure, failedStatusPatch, shortMessage } from '../../shared/reconcile/failure.ts';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('classifyFailure', () => {
  it('outages are transient, wherever the connection error hides', () => {
    const cases: unknown[] = [
      new Timeout('transact', 5000),
      new WaitFailed(0, { op: 'wait' }, 'timed out', undefined),
      new KubeConflictError(409, 'Conflict', 'changed'),
      new KubeApiError(504, 'Timeout', 'slow'),
      new AggregateError([refused(), refused()], 'all failed'),
      new TypeError('fetch failed', { cause: refused() }),
      Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
      Object.assign(new Error('Reached the max retries per request limit'), {
        name: 'MaxRetriesPerRequestError',
      }),
      new ConcurrentChangeError('subnet a kept changing while registering it; try again'),
      Object.assign(new Error('CLUSTERDOWN The cluster is down'), { name: 'ReplyError' }),
    ];
    for (const err of cases) expect(classifyFailure(err).class, String(err)).toBe('transient');
  });

  it('a refusal of ours, a forbidden call or a bug is internal; a DomainError is domain unless it says "try again"', () => {
    expect(
      classifyFailure(new ConstraintViolation(1, { op: 'insert' }, 'constraint violation', 'dup')),
    ).toMatchObject({
      class: 'internal',
      reason: 'InternalError',
    });
    expect(classifyFailure(new KubeApiError(403, 'Forbidden', 'no RBAC')).class).toBe('internal');
    expect(classifyFailure(new KubeApiError(422, 'Invalid', 'bad patch')).class).toBe('internal');
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'v4')"))).toEqual({
      class: 'internal',
      reason: 'InternalError',
      message: "TypeError: Cannot read properties of undefined (reading 'v4')",
    });
    expect(
      classifyFailure(Object.assign(new Error('ERR wrong number of arguments'), { name: 'ReplyError' }))
        .class,
    ).toBe('internal');
    expect(classifyFailure(new DomainError(Reason.InvalidSpec, 'bad'))).toEqual({
      class: 'domain',
      reason: 'InvalidSpec',
      message: 'bad',
    });
    expect(classifyFailure(new DomainError(Reason.SubnetNotReady, 'try again')).class).toBe('transient');
  });

  it('a condition message is one short line', () => {
    expect(shortMessage(new Error(`first line\n${'x'.repeat(500)}`))).toBe('Error: first line');
    expect(shortMessage(new Error('y'.repeat(500)))).toHaveLength(200);
  });
});

describe('failedStatusPatch', () => {
  it('sets Ready=False, keeps the other conditions, and a Vip is not ready', () => {
    const other = {
      type: 'Other',
      status: 'True' as const,
      reason: 'X',
      message: '',
      lastTransitionTime: 't0',
    };
    const ready = {
      type: 'Ready',
      status: 'True' as const,
      reason: 'OK',
      message: '',
      lastTransitionTime: 't0',
    };
    expect(
      failedStatusPatch(
        'Vip',
        { conditions: [other, ready] },
        { reason: 'InternalError', message: 'm' },
        't1',
        3,
      ),
    ).toEqual({
      ready: false,
      conditions: [
        other,
        {
          type: 'Ready',
          status: 'False',
          reason: 'InternalError',
          message: 'm',
          lastTransitionTime: 't1',
          observedGeneration: 3,
        },
      ],
    });
    expect(failedStatusPatch('Subnet', undefined, { reason: 'InvalidSubnet', message: 'm' }, 't1')).toEqual({
      conditions: [
        { type: 'Ready', status: 'False', reason: 'InvalidSubnet', message: 'm', lastTransitionTime: 't1' },
      ],
    });
  });
});
