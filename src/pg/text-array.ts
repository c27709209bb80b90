/** Int32 dimensions, flags, element type, length, lower bound. */
const HEADER = 20;
const TEXT_OID = 25;
/** Strings up to this length are written by a char loop when they are ASCII (a call into Buffer.write costs more). */
const SHORT = 64;
/** Below this many bytes, a byte loop beats a call into Buffer.copy. */
const LOOP_COPY = 48;

/**
 * One `text[]` parameter in PostgreSQL's binary array format (array_recv), built element by
 * element straight into one Buffer: Int32 dimensions (1), Int32 flags (1 when it holds a NULL),
 * Int32 element type (text, 25), Int32 length, Int32 lower bound (1), then per element an Int32
 * byte length (−1 for NULL) and the UTF-8 bytes. pg sends a Buffer parameter as binary.
 *
 * The buffer is kept and reused by the next array (`reset`): a statement's parameters are large
 * (10,000 rows) and allocating them afresh per statement was most of the apply side's garbage.
 * `finish()` returns a view of it, valid until the next `reset()` — long enough, because pg copies
 * a parameter into its Bind message when the query is sent, which on an idle connection is within
 * `client.query()`, and the writer awaits every statement before building the next.
 */
export class BinaryTextArray {
  private buf: Buffer;
  private at = HEADER;
  private count = 0;
  private nulls = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, HEADER));
  }

  /** Start a new array in the same buffer. */
  reset(): void {
    this.at = HEADER;
    this.count = 0;
    this.nulls = 0;
  }

  /** Room for `bytes` more bytes; returns the (possibly new) buffer. */
  private room(bytes: number): Buffer {
    const needed = this.at + bytes;
    if (needed > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.at);
      this.buf = next;
    }
    return this.buf;
  }

  addNull(): void {
    const b = this.room(4);
    b.writeInt32BE(-1, this.at);
    this.at += 4;
    this.count++;
    this.nulls = 1;
  }

  add(value: string | null | undefined): void {
    if (value === null || value === undefined) return this.addNull();
    const length = value.length;
    // At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const b = this.room(4 + 3 * length);
    const start = this.at + 4;
    if (length <= SHORT) {
      let k = 0;
      for (; k < length; k++) {
        const c = value.charCodeAt(k);
        if (c >= 0x80) break;
        b[start + k] = c;
      }
      if (k === length) {
        b.writeInt32BE(length, this.at);
        this.at = start + length;
        this.count++;
        return;
      }
    }
    const written = b.write(value, start, 'utf8');
    b.writeInt32BE(written, this.at);
    this.at = start + written;
    this.count++;
  }

  /**
   * Copy an element that is already an Int32 byte length and the bytes (a pgoutput 't' column is
   * exactly that) at `pos` of `src`; returns the bytes taken from `src`.
   */
  addFramed(src: Buffer, pos: number): number {
    const n = 4 + src.readInt32BE(pos);
    const b = this.room(n);
    let o = this.at;
    if (n < LOOP_COPY) for (let k = pos, end = pos + n; k < end; k++) b[o++] = src[k]!;
    else o += src.copy(b, o, pos, pos + n);
    this.at = o;
    this.count++;
    return n;
  }

  /** The array so far (a view of the reused buffer: valid until the next `reset`). */
  finish(): Buffer {
    const b = this.buf;
    b.writeInt32BE(1, 0);
    b.writeInt32BE(this.nulls, 4);
    b.writeInt32BE(TEXT_OID, 8);
    b.writeInt32BE(this.count, 12);
    b.writeInt32BE(1, 16);
    return b.subarray(0, this.at);
  }
}

/** A set of reusable arrays, one per parameter of a statement. */
export class BinaryTextArrays {
  private readonly arrays: BinaryTextArray[] = [];

  /** `count` arrays, each reset (the views of earlier statements become invalid). */
  take(count: number): BinaryTextArray[] {
    while (this.arrays.length < count) this.arrays.push(new BinaryTextArray());
    const out = this.arrays.slice(0, count);
    for (const a of out) a.reset();
    return out;
  }
}
