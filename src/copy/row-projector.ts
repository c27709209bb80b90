import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * Rewrites a COPY stream so that each row keeps only some of its fields, in a given order.
 * One read of a monolith table can then feed its owner (all columns) and its projections
 * (column subsets in other databases) at once.
 *
 * Binary format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4):
 * an 11-byte signature, int32 flags, int32 extension length + extension, then per row an int16
 * field count and per field an int32 length (-1 = NULL) and the bytes; an int16 -1 trailer.
 * Text format: rows end with '\n', fields are separated by '\t' (both are escaped inside values).
 */
export function createRowProjector(format: 'binary' | 'text', fields: readonly number[]): Transform {
  return format === 'binary' ? new BinaryRowProjector(fields) : new TextRowProjector(fields);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

class BinaryRowProjector extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private ended = false;
  /** Per field of the current row: [start, end) offsets within the row buffer. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(private readonly fields: readonly number[]) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    const out: Buffer[] = [];
    try {
      if (!this.headerDone) {
        if (buffer.length < 19) return this.keep(buffer, 0, callback);
        if (!buffer.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
        const headerLength = 19 + buffer.readInt32BE(15);
        if (buffer.length < headerLength) return this.keep(buffer, 0, callback);
        out.push(buffer.subarray(0, headerLength));
        offset = headerLength;
        this.headerDone = true;
      }
      while (!this.ended && offset + 2 <= buffer.length) {
        const count = buffer.readInt16BE(offset);
        if (count === -1) {
          out.push(buffer.subarray(offset, offset + 2));
          offset += 2;
          this.ended = true;
          break;
        }
        // Walk the row's fields; stop (and wait for more input) if the row is incomplete.
        let cursor = offset + 2;
        let complete = true;
        for (let i = 0; i < count; i++) {
          if (cursor + 4 > buffer.length) {
            complete = false;
            break;
          }
          const length = buffer.readInt32BE(cursor);
          const end = cursor + 4 + (length > 0 ? length : 0);
          if (end > buffer.length) {
            complete = false;
            break;
          }
          this.starts[i] = cursor;
          this.ends[i] = end;
          cursor = end;
        }
        if (!complete) break;
        out.push(this.projectRow(buffer));
        offset = cursor;
      }
    } catch (error) {
      return callback(error as Error);
    }
    if (out.length) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
    this.keep(buffer, offset, callback);
  }

  private projectRow(source: Buffer): Buffer {
    let size = 2;
    for (const f of this.fields) size += this.ends[f]! - this.starts[f]!;
    const row = Buffer.allocUnsafe(size);
    row.writeInt16BE(this.fields.length, 0);
    let at = 2;
    for (const f of this.fields) {
      at += source.copy(row, at, this.starts[f]!, this.ends[f]!);
    }
    return row;
  }

  private keep(buffer: Buffer, offset: number, callback: TransformCallback): void {
    this.pending = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : Buffer.alloc(0);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending.length)
      return callback(new Error(`binary COPY stream ended inside a row (${this.pending.length} bytes left)`));
    callback();
  }
}

class TextRowProjector extends Transform {
  private pending = '';
  // Chunks may split a multi-byte UTF-8 character; the decoder carries partial characters over.
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly fields: readonly number[]) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.pending + this.decoder.write(chunk);
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline === -1) {
      this.pending = text;
      return callback();
    }
    this.pending = text.slice(lastNewline + 1);
    const lines = text.slice(0, lastNewline).split('\n');
    const out = lines.map((line) => {
      const values = line.split('\t');
      return this.fields.map((f) => values[f]).join('\t');
    });
    this.push(`${out.join('\n')}\n`);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending.length) return callback(new Error('text COPY stream ended inside a row'));
    callback();
  }
}
