// createDispatch classifies what escapes a reconciler (issue 11, item 7): an outage is `retry`, a
// DomainError a Ready=False condition and a final 422, anything else `failed` (HTTP 500), logged
// with its stack once and, after a bounded number of tries, a dead-letter line naming the object
// and a Ready=False InternalError condition on it. Real API server (development), Redis and OVN NB;
// faults are injected at a port (the allocator) or by a route that throws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventRoutes } from '../../functions/events/routes.ts';
import { DomainError, Reason } from '../../shared/domain/errors.ts';
import type { Vip } from '../../shared/domain/types.ts';
import { signBodySync } from '../../shared/events/signature.ts';
import type { ResourceEvent } from '../../shared/events/types.ts';
import { KubeApiError } from '../../shared/kube/errors.ts';
import { Disconnected, NotLeader } from '../../shared/ovsdb/errors.ts';
import type { ReconcileDeps } from '../../shared/reconcile/deps.ts';
import { createDispatch, type Route } from '../../shared/reconcile/dispatch.ts';
import { type ReconcileHarness, startReconcileHarness } from './harness.ts';

let h: ReconcileHarness;

beforeAll(async () => {
  h = await startReconcileHarness({ cidrBlock: '10.79.0.0/24', gateway: '10.79.0.1' });
});

afterAll(async () => {
  await h?.stop();
});

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}
function recorder() {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const createVip = async (name: string) =>
  (await h.admin.create('Vip', {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Vip',
    metadata: { name },
    spec: { subnet: h.subnet },
  })) as unknown as Vip;

const vipEvent = (vip: Vip): ResourceEvent => ({
  action: 'add',
  mode: 'resource',
  ref: { apiVersion: 'kubeovn.io/v1', kind: 'Vip', name: vip.metadata.name },
  object: vip,
  id: `test-${vip.metadata.name}-${vip.metadata.resourceVersion}`,
  time: '',
  source: 'test',
});

const ready = (v: Vip | undefined) => v?.status?.conditions?.find((c) => c.type === 'Ready');

/** The harness's dependencies with the allocator's `allocate` replaced. */
const withAllocate = (allocate: ReconcileDeps['allocator']['allocate']): ReconcileDeps => ({
  ...h.deps,
  allocator: Object.assign(Object.create(h.deps.allocator) as ReconcileDeps['allocator'], { allocate }),
});

const connRefused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('createDispatch classifies failures', () => {
  it('an outage at a port (the real Vip reconciler, Redis refusing connections) is retry, and nothing is reported', async () => {
    const vip = await createVip('disp-transient');
    const { lines, log } = recorder();
    const dispatch = createDispatch(
      withAllocate(() => Promise.reject(connRefused())),
      { log },
    );
    for (let i = 0; i < 7; i++) {
      expect(await dispatch(vipEvent(vip))).toEqual({ status: 'retry', reason: 'ConnectionFailed' });
    }
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(ready(await h.admin.getVip('disp-transient'))).toBeUndefined();
    // The dependency is back: the same event goes through.
    expect((await createDispatch(h.deps, { log })(vipEvent(vip))).status).toBe('done');
    expect(ready(await h.admin.getVip('disp-transient'))).toMatchObject({ status: 'True' });
  });

  it('each kind of transient error thrown by a reconciler is retry', async () => {
    const fetchFailed = new TypeError('fetch failed', { cause: connRefused() });
    const redisClosed = new Error('Connection is closed.');
    const redisLoading = Object.assign(new Error('LOADING Redis is loading the dataset in memory'), {
      name: 'ReplyError',
    });
    const timeout = Object.assign(new Error('GET /api: no answer within 30000 ms'), { name: 'TimeoutError' });
    const errors: [unknown, string][] = [
      [new NotLeader(0, { op: 'insert' }, 'not leader', undefined), 'OvsdbUnavailable'],
      [new Disconnected('the connection dropped'), 'OvsdbUnavailable'],
      [new KubeApiError(503, 'ServiceUnavailable', 'etcd down'), 'KubernetesUnavailable'],
      [new KubeApiError(429, 'TooManyRequests', 'slow down'), 'KubernetesUnavailable'],
      [fetchFailed, 'ConnectionFailed'],
      [redisClosed, 'RedisUnavailable'],
      [redisLoading, 'RedisUnavailable'],
      [timeout, 'Timeout'],
      [new DomainError(Reason.SubnetNotReady, 'subnet x is being changed; try again'), Reason.SubnetNotReady],
    ];
    const vip = await createVip('disp-kinds');
    for (const [err, reason] of errors) {
      const route: Route = () => Promise.reject(err);
      expect(await createDispatch(h.deps, { route, log: recorder().log })(vipEvent(vip))).toEqual({
        status: 'retry',
        reason,
      });
    }
    expect(ready(await h.admin.getVip('disp-kinds'))).toBeUndefined();
  });

  it('a DomainError that escapes is a final 422 verdict and a Ready=False condition on the object', async () => {
    const vip = await createVip('disp-domain');
    const route: Route = () =>
      Promise.reject(new DomainError(Reason.InvalidSpec, 'spec.type: not a known type'));
    const dispatch = createDispatch(h.deps, { route, log: recorder().log });
    expect(await dispatch(vipEvent(vip))).toEqual({
      status: 'rejected',
      reason: 'InvalidSpec',
      message: 'spec.type: not a known type',
    });
    const now = await h.admin.getVip('disp-domain');
    expect(ready(now)).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.type: not a known type',
    });
    expect(now?.status?.ready).toBe(false);
  });

  it('an unexpected error (a bug at a port) is logged with its stack once, then reported after a bounded number of tries', async () => {
    const vip = await createVip('disp-internal');
    const { lines, log } = recorder();
    let broken = true;
    const bug = () => {
      // What a programming error looks like: reading a property of undefined.
      const missing = undefined as unknown as { v4: string };
      return missing.v4;
    };
    const deps = withAllocate(async (req) => {
      if (broken) bug();
      return h.deps.allocator.allocate(req);
    });
    // A Vip that holds an address reads its record instead of allocating: that read breaks too.
    deps.allocator.get = async (subnet, owner) => {
      if (broken) bug();
      return h.deps.allocator.get(subnet, owner);
    };
    const dispatch = createDispatch(deps, { log, internalFailureLimit: 3 });
    for (let i = 1; i <= 2; i++) {
      expect(await dispatch(vipEvent(vip))).toMatchObject({ status: 'failed', reason: 'InternalError' });
      // Not reported on the object yet: one odd failure must not flip a Vip to not ready.
      expect(ready(await h.admin.getVip('disp-internal'))?.reason).not.toBe('InternalError');
    }
    const third = await dispatch(vipEvent(vip));
    expect(third).toMatchObject({
      status: 'failed',
      reason: 'InternalError',
      message: expect.stringContaining('TypeError'),
    });

    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    // The first: once, with the stack.
    expect(String(errors[0]!.obj.err)).toMatch(/TypeError[\s\S]*\n\s+at /);
    // The dead letter names the object and the version it failed on.
    expect(errors[1]!.obj).toMatchObject({
      kind: 'Vip',
      name: 'disp-internal',
      resourceVersion: vip.metadata.resourceVersion,
      attempts: 3,
      deadLetter: true,
      err: expect.stringContaining('TypeError'),
    });
    const reported = await h.admin.getVip('disp-internal');
    expect(ready(reported)).toMatchObject({
      status: 'False',
      reason: 'InternalError',
      message: expect.stringContaining('after 3 tries'),
    });

    // Further tries are not logged at error level again, nor reported twice.
    expect((await dispatch(vipEvent(vip))).status).toBe('failed');
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);

    // Fixed (a new replica, a healed dependency): the next try succeeds and the count starts over.
    broken = false;
    expect((await dispatch(vipEvent((await h.admin.getVip('disp-internal'))!))).status).toBe('done');
    expect(ready(await h.admin.getVip('disp-internal'))).toMatchObject({ status: 'True' });
    broken = true;
    expect((await dispatch(vipEvent(vip))).status).toBe('failed');
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(3);
  });

  it('refuses a Pod event that names no namespace, and writes nothing (found by the fuzz)', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'no-ns', namespace: '', annotations: { 'ovn.kubernetes.io/vip': 'no-ns' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    const before = [...h.calls];
    const outcome = await createDispatch(h.deps)({
      action: 'add',
      mode: 'resource',
      ref: { apiVersion: 'v1', kind: 'Pod', name: 'no-ns' },
      object: pod as never,
      id: 'test-no-ns',
      time: '',
      source: 'test',
    });
    // Defaulting the namespace paired 'default' with the copy's '' and wrote a label `no-ns.`.
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'MalformedEvent' });
    expect(h.calls.slice(before.length).filter((c) => !c.startsWith('get') && !c.startsWith('list'))).toEqual(
      [],
    );
  });

  it('answers on the wire: 503 for an outage, 422 for a domain error, 500 for an internal one', async () => {
    const vip = await createVip('disp-wire');
    const throwing: Record<string, unknown> = {
      outage: new Disconnected('gone'),
      domain: new DomainError(Reason.InvalidSpec, 'bad spec'),
      internal: new TypeError('x is not a function'),
    };
    const statuses: Record<string, number> = {};
    for (const [what, err] of Object.entries(throwing)) {
      const app = createEventRoutes({
        dispatch: createDispatch(h.deps, { route: () => Promise.reject(err), log: recorder().log }),
        secret: 's3cret',
      });
      const body = JSON.stringify({
        specversion: '1.0',
        id: `wire-${what}`,
        type: 'dev.knative.apiserver.resource.add',
        source: 'https://127.0.0.1:6443',
        subject: `/apis/kubeovn.io/v1/vips/${vip.metadata.name}`,
        kind: 'Vip',
        apiversion: 'kubeovn.io/v1',
        name: vip.metadata.name,
        datacontenttype: 'application/json',
        data: vip,
      });
      const res = await app.request('/', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json', ...signBodySync('s3cret', body) },
        body,
      });
      statuses[what] = res.status;
    }
    expect(statuses).toEqual({ outage: 503, domain: 422, internal: 500 });
  });
});

describe('one log line per event (issue 21 item 7)', () => {
  it('names the object key, the replica, the outcome with its reason, and the duration, at info', async () => {
    const vip = await createVip('disp-logged');
    const { lines, log } = recorder();
    const dispatch = createDispatch(h.deps, { log, replica: 'function-7' });
    expect((await dispatch(vipEvent(vip))).status).toBe('done');
    const refused: Route = () => Promise.reject(new DomainError(Reason.InvalidAddress, 'bad address'));
    await createDispatch(h.deps, { log, replica: 'function-7', route: refused })(vipEvent(vip));

    const handled = lines.filter((l) => l.msg === 'event handled');
    expect(handled.map((l) => l.level)).toEqual(['info', 'info']);
    expect(handled[0]!.obj).toMatchObject({
      key: 'Vip//disp-logged',
      replica: 'function-7',
      action: 'add',
      outcome: 'done',
    });
    expect(handled[0]!.obj).not.toHaveProperty('reason');
    expect(handled[1]!.obj).toMatchObject({ outcome: 'rejected', reason: 'InvalidAddress' });
    for (const l of handled) expect(typeof l.obj.durationMs).toBe('number');
  });
});
