import { RawUpsert } from './route-change.js';
import type { Row } from './pending-changes.js';
import type { RoutePlan } from './route-plan.js';
import { BinaryTextArrays } from '../pg/text-array.js';

/**
 * Whole rows to one `text[]` parameter per route column, in PostgreSQL's binary array format
 * (BinaryTextArray, bound as binary parameters). A pgoutput 't' column is an Int32 length and the
 * bytes, as an array element is, so a raw row's values are copied as they arrived: nothing is
 * decoded, escaped or re-encoded. The element bytes are the text form of the value in UTF-8; the
 * statements cast each element with the column type's input function.
 */

const NULL_KIND = 0x6e;

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

/**
 * One pass over the rows, each element written straight into its column's buffer; `arrays` are
 * reused statement after statement (the views returned are valid until its next `take`).
 */
export function rowColumns(
  plan: RoutePlan,
  rows: readonly Row[],
  arrays: BinaryTextArrays = new BinaryTextArrays(),
): Buffer[] {
  const width = plan.columns.length;
  const { slots } = layoutOf(plan);
  const out = arrays.take(width);
  for (const row of rows) {
    if (row instanceof RawUpsert) {
      const buf = row.buf;
      const count = buf.readInt16BE(row.at);
      let pos = row.at + 2;
      for (let i = 0; i < count; i++) {
        const slot = i < slots.length ? slots[i]! : -1;
        if (buf[pos++] === NULL_KIND) {
          if (slot >= 0) out[slot]!.addNull();
          continue;
        }
        if (slot >= 0) pos += out[slot]!.addFramed(buf, pos);
        else pos += 4 + buf.readInt32BE(pos);
      }
    } else {
      for (let c = 0; c < width; c++) out[c]!.add(row[c]);
    }
  }
  return out.map((a) => a.finish());
}
