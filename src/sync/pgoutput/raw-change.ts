/**
 * The fast path of the decoder for the messages that are nearly all of a stream: Insert, Update
 * without an old tuple, Delete by key. Instead of a string per column it records where the tuples
 * start in the payload; values stay bytes until something asks for them. pgoutput's 't' column
 * (Int32 length, then the text) is byte for byte an element of PostgreSQL's binary array format,
 * so the applier frames rows into `text[]` parameters without decoding them (row-writer.ts).
 *
 * Whatever is not the simple shape (unchanged TOAST values, binary values, key-changing updates,
 * REPLICA IDENTITY FULL old rows, and any malformed payload) is left to decodePgoutput, which
 * handles every case and reports a malformed payload precisely.
 */

/** Column kinds on the wire. */
const TEXT = 0x74;
const NULL = 0x6e;

/** One scanned row change. The scanner reuses a single instance: read it before the next scan. */
export interface RawRowChange {
  tag: 'insert' | 'update' | 'delete';
  relationId: number;
  /**
   * The bytes holding the payload (the payload itself, or the socket chunk it lies in); owned by
   * the caller, never reused (the replication stream hands out chunks of its socket).
   */
  buf: Buffer;
  /** Offset of the tuple (its Int16 column count): the new row, or the old key of a delete. */
  at: number;
  /** Number of columns in that tuple. */
  columns: number;
  /** Bytes the tuple takes. */
  size: number;
}

const scratch: RawRowChange = {
  tag: 'insert',
  relationId: 0,
  buf: Buffer.alloc(0),
  at: 0,
  columns: 0,
  size: 0,
};

/**
 * Scan an Insert, an Update that carries no old tuple, or a Delete with the old key ('K'), whose
 * tuple holds only text values and NULLs and which uses the payload — buf[start, end) — exactly.
 * Anything else: null.
 */
export function scanRowChange(buf: Buffer, start = 0, end = buf.length): RawRowChange | null {
  if (end - start < 8) return null;
  const tag = buf[start];
  let tagName: RawRowChange['tag'];
  if (tag === 0x49) tagName = 'insert';
  else if (tag === 0x55) tagName = 'update';
  else if (tag === 0x44) tagName = 'delete';
  else return null;
  const marker = buf[start + 5];
  if (tag === 0x44 ? marker !== 0x4b : marker !== 0x4e) return null;
  const at = start + 6;
  const tuple = tupleEnd(buf, at, end);
  if (tuple !== end) return null;
  scratch.tag = tagName;
  scratch.relationId = buf.readUInt32BE(start + 1);
  scratch.buf = buf;
  scratch.at = at;
  scratch.columns = buf.readInt16BE(at);
  scratch.size = end - at;
  return scratch;
}

/**
 * End of a tuple of only 't' and 'n' columns starting at `at` and lying before `length`, or −1
 * (other kinds, out of bounds).
 */
function tupleEnd(buf: Buffer, at: number, length: number): number {
  if (at + 2 > length) return -1;
  const count = buf.readInt16BE(at);
  if (count < 0) return -1;
  let pos = at + 2;
  for (let i = 0; i < count; i++) {
    if (pos >= length) return -1;
    const kind = buf[pos++];
    if (kind === NULL) continue;
    if (kind !== TEXT || pos + 4 > length) return -1;
    const size = buf.readInt32BE(pos);
    if (size < 0) return -1;
    pos += 4 + size;
    if (pos > length) return -1;
  }
  return pos;
}

/** Offset of column `index`'s kind byte in a scanned tuple. */
export function columnAt(buf: Buffer, at: number, index: number): number {
  let pos = at + 2;
  for (let i = 0; i < index; i++) {
    if (buf[pos++] === NULL) continue;
    pos += 4 + buf.readInt32BE(pos);
  }
  return pos;
}

/** Column `index` of a scanned tuple as text, or null for SQL NULL. */
export function columnText(buf: Buffer, at: number, index: number): string | null {
  const pos = columnAt(buf, at, index);
  if (buf[pos] === NULL) return null;
  const size = buf.readInt32BE(pos + 1);
  return buf.toString('utf8', pos + 5, pos + 5 + size);
}

/** Every column of a scanned tuple as text (null for SQL NULL), in tuple order. */
export function tupleTexts(buf: Buffer, at: number): (string | null)[] {
  const count = buf.readInt16BE(at);
  const values = new Array<string | null>(count);
  let pos = at + 2;
  for (let i = 0; i < count; i++) {
    if (buf[pos++] === NULL) {
      values[i] = null;
      continue;
    }
    const size = buf.readInt32BE(pos);
    values[i] = buf.toString('utf8', pos + 4, pos + 4 + size);
    pos += 4 + size;
  }
  return values;
}
