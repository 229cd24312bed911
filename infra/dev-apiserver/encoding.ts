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
