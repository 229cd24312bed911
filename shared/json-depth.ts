// How deeply a JSON text nests, found by a scan before it is parsed. V8's JSON.parse is iterative
// and accepts 100,000 nested arrays, but JSON.stringify, structuredClone and most code walking
// the value recurse and overflow the stack on it; bodies are refused at this depth instead.

/** Nesting allowed in request bodies: Kubernetes objects (managedFields included) stay far below. */
export const MAX_JSON_DEPTH = 128;

/**
 * True when `text` opens more than `max` arrays or objects at once (strings are skipped, so
 * brackets inside them do not count). Malformed JSON is left to the parser.
 */
export function jsonNestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  // A text shorter than the limit cannot open more brackets than it has characters.
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip a string, escapes included
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
