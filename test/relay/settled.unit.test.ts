// The settled-version bookkeeping (infra/relay/settled.ts) and how Delivery keeps it: which answers
// settle a key at which version, and what a list leaves out or deletes with it. No servers.
import { describe, expect, it } from 'vitest';
import type { Delay } from '../../infra/relay/backoff.ts';
import type { ChangeEvent, KubeObject, ObjectCache } from '../../infra/relay/cache.ts';
import { Delivery } from '../../infra/relay/delivery.ts';
import type { SendResult } from '../../infra/relay/send-result.ts';
import {
  parseObjectKey,
  referenceObject,
  relistWithSettled,
  SettledVersions,
} from '../../infra/relay/settled.ts';

const pod = (name: string, rv: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', resourceVersion: rv, ...extra },
});
const ev = (action: ChangeEvent['action'], name: string, rv: string, previousRv?: string): ChangeEvent => ({
  action,
  key: `Pod:ns/${name}`,
  object: pod(name, rv),
  ...(previousRv ? { previousRv } : {}),
});
const noSleep: Delay = () => new Promise((r) => setImmediate(r));

/** A send the test answers by hand, one event at a time. */
function manualSink() {
  const waiting: Array<{ ev: ChangeEvent; answer: (r: SendResult) => void }> = [];
  const send = (e: ChangeEvent, signal: AbortSignal) =>
    new Promise<SendResult>((answer) => {
      waiting.push({ ev: e, answer });
      // A relay closing abandons what is on the wire.
      signal.addEventListener('abort', () => answer({ outcome: 'retry', detail: 'aborted' }), { once: true });
    });
  const next = async () => {
    for (let i = 0; i < 100 && waiting.length === 0; i++) await new Promise((r) => setImmediate(r));
    const w = waiting.shift();
    if (!w) throw new Error('nothing was sent');
    return w;
  };
  return { send, next, waiting };
}

const flushTicks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('SettledVersions', () => {
  it('records settles and forgets as changes for the store, once each, and puts back failed writes', () => {
    const s = new SettledVersions();
    s.load('Pod:ns/a', '5');
    expect(s.takeChanges().size).toBe(0); // what was read is not written back
    expect(s.isSettled('Pod:ns/a', '5')).toBe(true);
    expect(s.isSettled('Pod:ns/a', '6')).toBe(false);
    expect(s.isSettled('Pod:ns/a', undefined)).toBe(false);
    s.settle('Pod:ns/a', '5'); // no change
    s.settle('Pod:ns/b', '7');
    s.forget('Pod:ns/a');
    s.forget('Pod:ns/zzz'); // never recorded: nothing to remove
    const changes = s.takeChanges();
    expect([...changes]).toEqual([
      ['Pod:ns/b', '7'],
      ['Pod:ns/a', null],
    ]);
    s.settle('Pod:ns/b', '8');
    s.restoreChanges(changes); // the failed batch comes back, but b's newer change wins
    expect(Object.fromEntries(s.takeChanges())).toEqual({ 'Pod:ns/b': '8', 'Pod:ns/a': null });
  });

  it('settles a skipped state only when the state it repeats was settled', () => {
    const s = new SettledVersions();
    s.settle('Pod:ns/a', '5');
    s.skippedAfter('Pod:ns/a', '6', '5');
    expect(s.get('Pod:ns/a')).toBe('6');
    s.skippedAfter('Pod:ns/a', '9', '8'); // 8 was never handled (e.g. still pending): 9 is not either
    expect(s.get('Pod:ns/a')).toBe('6');
    s.skippedAfter('Pod:ns/b', '3', undefined);
    expect(s.get('Pod:ns/b')).toBeUndefined();
  });

  it('parses keys back to names and builds the Reference-mode object of a delete', () => {
    expect(parseObjectKey('Pod:ns/a')).toEqual({ kind: 'Pod', namespace: 'ns', name: 'a' });
    expect(parseObjectKey('Vip:vip-1.x')).toEqual({ kind: 'Vip', name: 'vip-1.x' });
    expect(referenceObject('Vip:v1', 'kubeovn.io/v1')).toEqual({
      apiVersion: 'kubeovn.io/v1',
      kind: 'Vip',
      metadata: { name: 'v1' },
    });
  });
});

describe('a list with a settled-version record', () => {
  it('leaves out settled objects on a first list, still caches them, and deletes settled objects no longer listed', () => {
    const s = new SettledVersions();
    s.load('Pod:ns/same', '10');
    s.load('Pod:ns/changed', '11');
    s.load('Pod:ns/gone', '12');
    s.load('Vip:other-kind', '13');
    const cache: ObjectCache = new Map();
    const r = relistWithSettled(
      cache,
      'Pod',
      'v1',
      [pod('same', '10'), pod('changed', '20'), pod('new', '21')],
      s,
      true,
    );
    expect(r.events.map((e) => [e.action, e.key, e.reference ?? false])).toEqual([
      ['add', 'Pod:ns/changed', false],
      ['add', 'Pod:ns/new', false],
      ['delete', 'Pod:ns/gone', true],
    ]);
    expect(r.events[2]!.object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gone', namespace: 'ns' },
    });
    expect(r).toMatchObject({ listed: 3, skipped: 1, deletes: 1 });
    expect([...cache.keys()].sort()).toEqual(['Pod:ns/changed', 'Pod:ns/new', 'Pod:ns/same']);
  });

  it('delivers every object on a resync, and an object the cache had carries its last state', () => {
    const s = new SettledVersions();
    s.load('Pod:ns/same', '10');
    const cache: ObjectCache = new Map([
      ['Pod:ns/same', pod('same', '10')],
      ['Pod:ns/left', pod('left', '9')],
    ]);
    const r = relistWithSettled(cache, 'Pod', 'v1', [pod('same', '10')], s, false);
    expect(r.events.map((e) => [e.action, e.key, e.object.metadata.resourceVersion])).toEqual([
      ['update', 'Pod:ns/same', '10'],
      ['delete', 'Pod:ns/left', '9'],
    ]);
    expect(r).toMatchObject({ skipped: 0, deletes: 1 });
  });
});

describe('delivery keeps the record', () => {
  const setup = () => {
    const settled = new SettledVersions();
    const sink = manualSink();
    const d = new Delivery({ send: sink.send, settled, delay: noSleep, minRetryGapMs: 0 });
    return { settled, sink, d };
  };

  it('settles a key at the version answered done, and removes it when a delete is done', async () => {
    const { settled, sink, d } = setup();
    d.enqueue(ev('add', 'a', '1'));
    (await sink.next()).answer({ outcome: 'done' });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBe('1');
    d.enqueue(ev('delete', 'a', '2'));
    (await sink.next()).answer({ outcome: 'done' });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBeUndefined();
  });

  it('does not settle a key whose delivery failed, is pending behind it, or is parked', async () => {
    const { settled, sink, d } = setup();
    settled.settle('Pod:ns/a', '1');
    d.enqueue(ev('update', 'a', '2'));
    (await sink.next()).answer({ outcome: 'retry', detail: '503' });
    expect(settled.get('Pod:ns/a')).toBe('1');
    // A newer state arrives while 2 is retried: answering 2 must not settle the key at all.
    d.enqueue(ev('update', 'a', '3'));
    let tried = await sink.next();
    expect(tried.ev.object.metadata.resourceVersion).toBe('3'); // collapsed into the newest
    for (let i = 0; i < 5; i++) {
      tried.answer({ outcome: 'failed', detail: '500' });
      if (i < 4) tried = await sink.next();
    }
    await flushTicks();
    expect(d.stats().parkedKeys).toBe(1);
    expect(settled.get('Pod:ns/a')).toBe('1');
    await d.close(0);
  });

  it('settles at the newest state once the queue empties: a state queued behind the one in flight', async () => {
    const { settled, sink, d } = setup();
    d.enqueue(ev('add', 'a', '1'));
    const first = await sink.next();
    d.enqueue(ev('update', 'a', '2'));
    first.answer({ outcome: 'done' });
    await flushTicks();
    expect(settled.get('Pod:ns/a')).toBeUndefined(); // 2 is still to be sent
    (await sink.next()).answer({ outcome: 'done' });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBe('2');
  });

  it('a status-only state skipped while the key is in flight is settled with its answer; skipped while idle, at once', async () => {
    const { settled, sink, d } = setup();
    d.enqueue(ev('add', 'a', '1'));
    const first = await sink.next();
    d.skipped('Pod:ns/a', '2', '1'); // the handler's status write came back before its answer
    first.answer({ outcome: 'done' });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBe('2');
    d.skipped('Pod:ns/a', '3', '2');
    expect(settled.get('Pod:ns/a')).toBe('3');
  });

  it('an echo named by `produced` settles the key at the echo, whether it came before or after the answer', async () => {
    const { settled, sink, d } = setup();
    d.enqueue(ev('add', 'a', '1'));
    const first = await sink.next();
    d.enqueue(ev('update', 'a', '2', '1')); // the echo, queued behind the add
    first.answer({ outcome: 'done', produced: ['2', '3'] });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBe('2');
    d.enqueue(ev('update', 'a', '3', '2')); // the second write's echo arrives after the answer
    expect(d.stats().echoes).toBe(2);
    expect(settled.get('Pod:ns/a')).toBe('3');
  });

  it('a final 4xx verdict settles the key; a request too large does not', async () => {
    const { settled, sink, d } = setup();
    d.enqueue(ev('add', 'a', '1'));
    (await sink.next()).answer({ outcome: 'drop', detail: '422', reason: 'InvalidVip' });
    d.enqueue(ev('add', 'b', '2'));
    (await sink.next()).answer({ outcome: 'drop', detail: '413', reason: 'PayloadTooLarge' });
    await d.idle();
    expect(settled.get('Pod:ns/a')).toBe('1');
    expect(settled.get('Pod:ns/b')).toBeUndefined();
  });

  it('without a record nothing is kept (the relay as before)', async () => {
    const sink = manualSink();
    const d = new Delivery({ send: sink.send, delay: noSleep });
    d.enqueue(ev('add', 'a', '1'));
    (await sink.next()).answer({ outcome: 'done' });
    await d.idle();
    d.skipped('Pod:ns/a', '2', '1');
    expect(d.stats().delivered).toBe(1);
  });
});
