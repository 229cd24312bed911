// A read that callers make at about the same time, shared: while one request is out, every new
// call waits for the next one, sent as soon as the current one ends. No caller is ever answered
// from a request sent before it called, so each answer is as fresh as a request of its own would
// have been (a handler stays level-triggered and sees every change made before its call), while N
// concurrent callers cost about one request instead of N. A lone caller is sent at once, as before.
// Callers share the answer: it must be read, never mutated.

interface Waiting<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (err: unknown) => void;
}

function waiting<T>(): Waiting<T> {
  let resolve!: (v: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function coalescedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let out = false;
  let next: Waiting<T> | undefined;
  const send = (callers: Waiting<T>) => {
    out = true;
    let request: Promise<T>;
    try {
      request = read();
    } catch (err) {
      request = Promise.reject(err);
    }
    request.then(callers.resolve, callers.reject).finally(() => {
      out = false;
      const queued = next;
      next = undefined;
      if (queued) send(queued);
    });
  };
  return () => {
    if (out) {
      next ??= waiting<T>();
      return next.promise;
    }
    const callers = waiting<T>();
    send(callers);
    return callers.promise;
  };
}
