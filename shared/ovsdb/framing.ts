// OVSDB sends bare concatenated JSON objects: no newline, no length prefix. This splitter finds
// message boundaries by brace depth over raw bytes, skipping braces inside strings (and escaped
// quotes), and keeps partial messages across reads. UTF-8 continuation bytes are >= 0x80, so they
// never look like the ASCII structure characters it watches for.

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export interface SplitterOptions {
  /** A single message larger than this is refused (protects memory from a broken peer). */
  maxMessageBytes?: number;
}

export class JsonStreamSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly maxMessageBytes: number;

  constructor(opts: SplitterOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 256 * 1024 * 1024;
  }

  /** Feeds one read; returns every message completed by it, parsed, in order. */
  push(chunk: Buffer | string): unknown[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: unknown[] = [];
    let start = 0; // where the current message starts inside buf (when it started in this chunk)
    // Inside a string only a quote or a backslash matters: jump to the next one with indexOf
    // (native) rather than looking at every byte in JS; most of a row dump is string contents.
    // Backslashes are rare, so the next one's position is found once and reused (-1: none left).
    let nextBackslash = -2;
    for (let i = 0; i < buf.length; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = buf.indexOf(BACKSLASH, i);
        const quote = buf.indexOf(QUOTE, i);
        if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
          i = nextBackslash; // the byte after it is skipped as escaped
          this.escaped = true;
        } else if (quote !== -1) {
          i = quote;
          this.inString = false;
        } else {
          i = buf.length; // the string goes on in the next read
        }
        continue;
      }
      const c = buf[i]!;
      if (this.depth === 0) {
        if (c === OPEN_BRACE) {
          this.depth = 1;
          start = i;
        } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
          throw new FramingError(`unexpected byte 0x${c.toString(16)} between messages`);
        }
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const piece = buf.subarray(this.buffered > 0 ? 0 : start, i + 1);
          const whole = this.buffered > 0 ? Buffer.concat([...this.chunks, piece]) : piece;
          this.chunks = [];
          this.buffered = 0;
          out.push(JSON.parse(whole.toString('utf8')));
          start = i + 1;
        }
      }
    }
    if (this.depth > 0) {
      // Keep the unfinished tail for the next read.
      const tail = this.buffered > 0 ? buf : buf.subarray(start);
      this.chunks.push(tail);
      this.buffered += tail.length;
      if (this.buffered > this.maxMessageBytes) {
        throw new FramingError(`message larger than ${this.maxMessageBytes} bytes`);
      }
    }
    return out;
  }

  /** True when no partial message is buffered. */
  get idle(): boolean {
    return this.depth === 0 && this.buffered === 0;
  }
}
