// Rendezvous (highest random weight) hashing of an object key over the function URLs: the same key
// always goes to the same URL while the URL set is unchanged, and removing one URL moves only the
// keys that were on it.
import { createHash } from 'node:crypto';

const weight = (url: string, key: string) =>
  createHash('sha256').update(url).update('\0').update(key).digest().readBigUInt64BE(0);

export function pickSink(key: string, urls: readonly string[]): string {
  if (urls.length === 0) throw new Error('no sink URL configured');
  let best = urls[0]!;
  let bestWeight = -1n;
  for (const url of urls) {
    const w = weight(url, key);
    if (w > bestWeight || (w === bestWeight && url < best)) {
      best = url;
      bestWeight = w;
    }
  }
  return best;
}
