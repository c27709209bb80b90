import { RawUpsert } from './route-change.js';
import type { Row } from './pending-changes.js';
import type { RoutePlan } from './route-plan.js';

/**
 * Whole rows to one `text[]` parameter per route column, in PostgreSQL's binary array format
 * (array_recv), bound as binary parameters (pg sends a Buffer parameter in binary format).
 *
 * The format of a one-dimensional text array: Int32 dimensions (1), Int32 flags (1 when it holds a
 * NULL), Int32 element type (text, 25), Int32 length, Int32 lower bound (1), then per element an
 * Int32 byte length (−1 for NULL) and the bytes. A pgoutput 't' column is an Int32 length and the
 * bytes too, so a raw row's values are copied as they arrived: nothing is decoded, escaped or
 * re-encoded. The element bytes are the text form of the value in UTF-8, the same bytes the text
 * literal path sent; the statements cast each element with the column type's input function as
 * before.
 */

const HEADER = 20;
const TEXT_OID = 25;
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

export function rowColumns(plan: RoutePlan, rows: readonly Row[]): Buffer[] {
  const width = plan.columns.length;
  const { slots } = layoutOf(plan);
  const sizes = new Array<number>(width).fill(HEADER);
  const nulls = new Array<number>(width).fill(0);
  // Pass 1: the byte size of each column's array.
  for (const row of rows) {
    if (row instanceof RawUpsert) {
      const buf = row.buf;
      const count = buf.readInt16BE(row.at);
      let pos = row.at + 2;
      for (let i = 0; i < count; i++) {
        const slot = i < slots.length ? slots[i]! : -1;
        if (buf[pos++] === NULL_KIND) {
          if (slot >= 0) {
            sizes[slot]! += 4;
            nulls[slot] = 1;
          }
          continue;
        }
        const size = buf.readInt32BE(pos);
        if (slot >= 0) sizes[slot]! += 4 + size;
        pos += 4 + size;
      }
    } else {
      for (let c = 0; c < width; c++) {
        const value = row[c];
        if (value === null || value === undefined) {
          sizes[c]! += 4;
          nulls[c] = 1;
        } else sizes[c]! += 4 + Buffer.byteLength(value);
      }
    }
  }
  const out = new Array<Buffer>(width);
  const at = new Array<number>(width);
  for (let c = 0; c < width; c++) {
    const b = Buffer.allocUnsafe(sizes[c]!);
    b.writeInt32BE(1, 0);
    b.writeInt32BE(nulls[c]!, 4);
    b.writeInt32BE(TEXT_OID, 8);
    b.writeInt32BE(rows.length, 12);
    b.writeInt32BE(1, 16);
    out[c] = b;
    at[c] = HEADER;
  }
  // Pass 2: the elements.
  for (const row of rows) {
    if (row instanceof RawUpsert) {
      const buf = row.buf;
      const count = buf.readInt16BE(row.at);
      let pos = row.at + 2;
      for (let i = 0; i < count; i++) {
        const slot = i < slots.length ? slots[i]! : -1;
        if (buf[pos++] === NULL_KIND) {
          if (slot >= 0) {
            out[slot]!.writeInt32BE(-1, at[slot]!);
            at[slot]! += 4;
          }
          continue;
        }
        const n = 4 + buf.readInt32BE(pos);
        if (slot >= 0) {
          const target = out[slot]!;
          let o = at[slot]!;
          if (n < LOOP_COPY) for (let k = pos, end = pos + n; k < end; k++) target[o++] = buf[k]!;
          else o += buf.copy(target, o, pos, pos + n);
          at[slot] = o;
        }
        pos += n;
      }
    } else {
      for (let c = 0; c < width; c++) {
        const value = row[c];
        const target = out[c]!;
        let o = at[c]!;
        if (value === null || value === undefined) {
          target.writeInt32BE(-1, o);
          o += 4;
        } else {
          const written = target.write(value, o + 4, 'utf8');
          target.writeInt32BE(written, o);
          o += 4 + written;
        }
        at[c] = o;
      }
    }
  }
  return out;
}
