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

const events = new WeakMap<object, Partial<Record<string, Buffer>>>();

/** One line of a JSON watch stream about a stored object, encoded once for every watcher. */
export function storedEvent(type: string, obj: object): Buffer {
  let byType = events.get(obj);
  if (byType === undefined) {
    byType = {};
    events.set(obj, byType);
  }
  let line = byType[type];
  if (line === undefined) {
    line = Buffer.from(`{"type":"${type}","object":${storedJson(obj)}}\n`);
    byType[type] = line;
  }
  return line;
}
