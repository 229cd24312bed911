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
const COMMA = 0x2c;

/**
 * Nesting level of the collections that grow with the database in every OVSDB message: a table's
 * rows in a monitor reply (`result[2].Table`) or an update notification (`params[n].Table`), and
 * a select's `rows` (`result[i].rows`). 1 is the message object itself.
 */
const ROWS_DEPTH = 4;

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export interface SplitterOptions {
  /** A single message larger than this is refused (protects memory from a broken peer). */
  maxMessageBytes?: number;
  /**
   * A message at least this large whose rows (see ROWS_DEPTH) span more than `pieceBytes` comes
   * out as a ChunkedMessage, parsed a piece at a time, instead of parsed in one go (default: never).
   */
  chunkAboveBytes?: number;
  /** About how many bytes of rows one piece of a ChunkedMessage parses (default 256 KiB). */
  pieceBytes?: number;
}

/** A container of rows inside a message: where it opens and closes, and its members' separators. */
interface Rows {
  open: number;
  close: number;
  commas: number[];
}

/** The key of the stand-in object a chunked container is parsed as in the message's skeleton. */
const CHUNKED = '\u0000chunked';

/**
 * A large message parsed in steps, so that a 30 MB monitor snapshot (120,000 ports) does not hold
 * the process's only thread for one JSON.parse of seconds. Step one parses the message with its
 * large row containers left out; every further step parses one piece of a container's members
 * (`{...}` or `[...]` of about `pieceBytes`) into it. The value equals JSON.parse of the whole.
 */
export class ChunkedMessage {
  private readonly steps: (() => void)[] = [];
  private next = 0;
  private result: unknown;

  constructor(bytes: Buffer, containers: readonly Rows[], pieceBytes: number) {
    const targets: (Record<string, unknown> | unknown[])[] = containers.map((c) =>
      bytes[c.open] === OPEN_BRACE ? {} : [],
    );
    this.steps.push(() => {
      const parts: Buffer[] = [];
      let at = 0;
      containers.forEach((c, k) => {
        parts.push(bytes.subarray(at, c.open), Buffer.from(`{${JSON.stringify(CHUNKED)}:${k}}`));
        at = c.close + 1;
      });
      parts.push(bytes.subarray(at));
      this.result = JSON.parse(Buffer.concat(parts).toString('utf8'), (_key, value: unknown) =>
        value !== null && typeof value === 'object' && Object.hasOwn(value, CHUNKED)
          ? targets[(value as Record<string, number>)[CHUNKED]!]
          : value,
      );
    });
    containers.forEach((c, k) => {
      const target = targets[k]!;
      const [open, close] = Array.isArray(target) ? ['[', ']'] : ['{', '}'];
      // Members end at a comma or at the container's close; pieces end at a member's end.
      const ends = [...c.commas, c.close];
      let from = c.open + 1;
      for (let i = 0; i < ends.length; ) {
        let to = ends[i]!;
        while (to - from < pieceBytes && i < ends.length - 1) to = ends[++i]!;
        i++;
        const start = from;
        from = to + 1;
        this.steps.push(() => {
          const piece: unknown = JSON.parse(`${open}${bytes.toString('utf8', start, to)}${close}`);
          if (Array.isArray(target)) for (const v of piece as unknown[]) target.push(v);
          else Object.assign(target, piece);
        });
      }
    });
  }

  /** Parses the next piece; true once the whole message is parsed. */
  step(): boolean {
    if (this.next < this.steps.length) this.steps[this.next++]!();
    return this.done;
  }

  get done(): boolean {
    return this.next >= this.steps.length;
  }

  /** The parsed message (once done). */
  get value(): unknown {
    return this.result;
  }

  /** Every step at once (what a caller with nothing else to do wants). */
  parseAll(): unknown {
    while (!this.step());
    return this.result;
  }
}

export class JsonStreamSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly maxMessageBytes: number;
  private readonly chunkAboveBytes: number;
  private readonly pieceBytes: number;
  /** The row containers of the message being read (message-relative byte offsets). */
  private rows: Rows[] = [];

  constructor(opts: SplitterOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 256 * 1024 * 1024;
    this.chunkAboveBytes = opts.chunkAboveBytes ?? Number.POSITIVE_INFINITY;
    this.pieceBytes = opts.pieceBytes ?? 256 * 1024;
  }

  /**
   * Feeds one read; returns every message completed by it, parsed, in order (a large one as a
   * ChunkedMessage when `chunkAboveBytes` is set).
   */
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
          this.rows = [];
        } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
          throw new FramingError(`unexpected byte 0x${c.toString(16)} between messages`);
        }
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === COMMA) {
        if (this.depth === ROWS_DEPTH) this.rows[this.rows.length - 1]?.commas.push(this.at(i, start));
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++this.depth === ROWS_DEPTH) this.rows.push({ open: this.at(i, start), close: -1, commas: [] });
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth-- === ROWS_DEPTH) {
          const r = this.rows[this.rows.length - 1];
          if (r) r.close = this.at(i, start);
        }
        if (this.depth === 0) {
          const piece = buf.subarray(this.buffered > 0 ? 0 : start, i + 1);
          const whole = this.buffered > 0 ? Buffer.concat([...this.chunks, piece]) : piece;
          this.chunks = [];
          this.buffered = 0;
          out.push(this.parse(whole));
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

  /** Offset in the current message of byte `i` of this read (which started it at `start`, or continues it). */
  private at(i: number, start: number): number {
    return this.buffered > 0 ? this.buffered + i : i - start;
  }

  private parse(whole: Buffer): unknown {
    if (whole.length >= this.chunkAboveBytes) {
      const large = this.rows.filter((r) => r.close - r.open > this.pieceBytes);
      this.rows = [];
      if (large.length > 0) return new ChunkedMessage(whole, large, this.pieceBytes);
    }
    this.rows = [];
    return JSON.parse(whole.toString('utf8'));
  }

  /** True when no partial message is buffered. */
  get idle(): boolean {
    return this.depth === 0 && this.buffered === 0;
  }
}
