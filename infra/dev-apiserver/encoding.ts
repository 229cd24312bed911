// The JSON of a stored object, computed once: the reply to the write that stored it and every
// watch event about it carry the same bytes. Safe because a stored object never changes
// (store.ts); keyed weakly so an object's text goes when the object does.
const texts = new WeakMap<object, string>();

export function storedJson(obj: object): string {
  let text = texts.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    texts.set(obj, text);
  }
  return text;
}

// Only the latest line is kept: a change reaches all its watchers at once (Store.record), so one
// slot shares the bytes without keeping a line alive for every object.
let last: { obj: object; type: string; line: Buffer } | undefined;

/** One line of a JSON watch stream about a stored object, encoded once for every watcher. */
export function storedEvent(type: string, obj: object): Buffer {
  if (last?.obj !== obj || last.type !== type)
    last = { obj, type, line: Buffer.from(`{"type":"${type}","object":${storedJson(obj)}}\n`) };
  return last.line;
}
