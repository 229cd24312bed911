// The JSON of a stored object, computed once: the reply to the write that stored it, the watch
// events about it and a read soon after carry the same bytes. Safe because a stored object never
// changes (store.ts). Only recent objects keep their text: keeping it for every object costs more
// in garbage collection than encoding an old object again.
const RECENT = 512;
const texts = new Map<object, string>();

export function storedJson(obj: object): string {
  let text = texts.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    texts.set(obj, text);
    if (texts.size > RECENT) texts.delete(texts.keys().next().value as object);
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
