import { RawUpsert, type Value } from './route-change.js';
import type { Row } from './pending-changes.js';
import type { RoutePlan } from './route-plan.js';

/**
 * Rows to the data of `COPY … FROM STDIN (FORMAT binary)` into a staging table of text columns
 * (apply-sql.ts stageSetupSql), one column per route column in plan order.
 *
 * The binary COPY format: a 19-byte header (signature, Int32 flags, Int32 extension length), per
 * row an Int16 field count then per field an Int32 byte length (−1 for NULL) and the bytes, and an
 * Int16 −1 trailer. A text column's binary form is its text bytes, and a pgoutput 't' column is a
 * kind byte, an Int32 length and those bytes: a raw row is re-framed by dropping each kind byte.
 * Nothing is decoded; the statements cast each value with the column type's input function, as the
 * unnest statements did (bench/apply-shapes.ts: the same rows cost the target backend about a
 * quarter less CPU this way than unnested from text[] parameters).
 */

const HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const NULL_KIND = 0x6e;
/** Below this, a byte loop beats a call into Buffer.copy. */
const LOOP_COPY = 48;

interface Layout {
  /** Route column position of each tuple column (−1: not written by this route). */
  slots: Int32Array;
}

const layouts = new WeakMap<RoutePlan, Layout>();

function layoutOf(plan: RoutePlan): Layout {
  let layout = layouts.get(plan);
  if (!layout) {
    let max = -1;
    for (const column of plan.columns) if (column.index > max) max = column.index;
    const slots = new Int32Array(max + 1).fill(-1);
    plan.columns.forEach((column, i) => (slots[column.index] = i));
    layouts.set(plan, (layout = { slots }));
  }
  return layout;
}

/** Whole rows (raw or decoded), every route column, for the upsert and update statements. */
export function stageRows(plan: RoutePlan, rows: readonly Row[]): Buffer {
  const width = plan.columns.length;
  const { slots } = layoutOf(plan);
  // Where each route column's field starts in the payload (−1: NULL or not sent), per raw row.
  const starts = new Int32Array(width);
  let size = HEADER.length + 2;
  for (const row of rows) {
    size += 2;
    if (row instanceof RawUpsert) {
      const buf = row.buf;
      const count = buf.readInt16BE(row.at);
      let pos = row.at + 2;
      let sent = 0;
      for (let i = 0; i < count; i++) {
        const slot = i < slots.length ? slots[i]! : -1;
        if (buf[pos++] === NULL_KIND) continue;
        const n = 4 + buf.readInt32BE(pos);
        if (slot >= 0) {
          size += n;
          sent++;
        }
        pos += n;
      }
      size += 4 * (width - sent);
    } else {
      for (let c = 0; c < width; c++) {
        const value = row[c];
        size += value === null || value === undefined ? 4 : 4 + Buffer.byteLength(value);
      }
    }
  }
  const out = Buffer.allocUnsafe(size);
  HEADER.copy(out, 0);
  let o = HEADER.length;
  for (const row of rows) {
    out.writeInt16BE(width, o);
    o += 2;
    if (row instanceof RawUpsert) {
      const buf = row.buf;
      const count = buf.readInt16BE(row.at);
      starts.fill(-1);
      let pos = row.at + 2;
      for (let i = 0; i < count; i++) {
        const slot = i < slots.length ? slots[i]! : -1;
        if (buf[pos++] === NULL_KIND) continue;
        if (slot >= 0) starts[slot] = pos;
        pos += 4 + buf.readInt32BE(pos);
      }
      for (let c = 0; c < width; c++) {
        const start = starts[c]!;
        if (start < 0) {
          out.writeInt32BE(-1, o);
          o += 4;
          continue;
        }
        const n = 4 + buf.readInt32BE(start);
        if (n < LOOP_COPY) for (let k = start, end = start + n; k < end; k++) out[o++] = buf[k]!;
        else o += buf.copy(out, o, start, start + n);
      }
    } else {
      for (let c = 0; c < width; c++) o = writeText(out, o, row[c]);
    }
  }
  out.writeInt16BE(-1, o);
  return out;
}

/** Key values (decoded, in plan.key order), for the delete statement. */
export function stageKeys(keys: readonly (readonly (Value | undefined)[])[], width: number): Buffer {
  let size = HEADER.length + 2;
  for (const key of keys) {
    size += 2;
    for (let c = 0; c < width; c++) {
      const value = key[c];
      size += value === null || value === undefined ? 4 : 4 + Buffer.byteLength(value);
    }
  }
  const out = Buffer.allocUnsafe(size);
  HEADER.copy(out, 0);
  let o = HEADER.length;
  for (const key of keys) {
    out.writeInt16BE(width, o);
    o += 2;
    for (let c = 0; c < width; c++) o = writeText(out, o, key[c]);
  }
  out.writeInt16BE(-1, o);
  return out;
}

function writeText(out: Buffer, o: number, value: Value | undefined): number {
  if (value === null || value === undefined) {
    out.writeInt32BE(-1, o);
    return o + 4;
  }
  const written = out.write(value, o + 4, 'utf8');
  out.writeInt32BE(written, o);
  return o + 4 + written;
}
