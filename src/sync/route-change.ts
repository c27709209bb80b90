import { CarveError } from '../errors.js';
import {
  isUnchangedToast,
  type ColumnValue,
  type DeleteMessage,
  type InsertMessage,
  type Tuple,
  type UpdateMessage,
} from './pgoutput/messages.js';
import { columnText, tupleTexts, type RawRowChange } from './pgoutput/raw-change.js';
import type { RelationPlan, RoutePlan } from './route-plan.js';

/** A column value as text (pgoutput text format), or SQL NULL. */
export type Value = string | null;
/** In a partial row, `undefined` marks an unchanged TOAST value: keep what the target has. */
export type PartialValue = Value | undefined;

/**
 * One change for one route's target table, keyed:
 * - upsert: the complete new row (insert, or an update that sent every column)
 * - patch:  an update that left TOASTed values out: set only the sent columns of the row at `key`
 * - delete: remove the row at `key` (a missing row is fine)
 * - move:   a key-changing update with unsent TOAST values: the row at `oldKey` takes the new key
 *           and the sent columns (rare; applied on its own, in order)
 */
export type RoutedChange =
  | {
      kind: 'upsert';
      plan: RoutePlan;
      key: string;
      values: Value[];
      bytes: number;
      /** From an UPDATE: the row is expected to be there already (applied as UPDATE, upsert if not). */
      update: boolean;
      old?: Value[];
    }
  | { kind: 'patch'; plan: RoutePlan; key: string; values: PartialValue[]; bytes: number; old?: Value[] }
  | { kind: 'delete'; plan: RoutePlan; key: string; keyValues: Value[]; bytes: number; old?: Value[] }
  | {
      kind: 'move';
      plan: RoutePlan;
      key: string;
      oldKey: string;
      oldKeyValues: Value[];
      values: PartialValue[];
      bytes: number;
      old?: Value[];
    };

/**
 * A whole-row upsert whose values are still the bytes of the pgoutput payload (routeRawChange).
 * The applier frames them into its statements without decoding (row-writer.ts); any other sink
 * reading `values` gets them decoded, once.
 */
export class RawUpsert {
  readonly kind = 'upsert' as const;
  old?: Value[];
  private decoded: Value[] | undefined;

  constructor(
    readonly plan: RoutePlan,
    readonly key: string,
    /** The payload, and the offset of the new tuple in it. */
    readonly buf: Buffer,
    readonly at: number,
    readonly bytes: number,
    readonly update: boolean,
  ) {}

  get values(): Value[] {
    if (this.decoded === undefined) {
      const tuple = tupleTexts(this.buf, this.at);
      this.decoded = this.plan.identity ? tuple : this.plan.columns.map((c) => tuple[c.index] ?? null);
    }
    return this.decoded;
  }
}

// `old`: the route's columns of the row before the change, when the table has REPLICA IDENTITY
// FULL (pgoutput then sends the whole old row). Appliers ignore it; change events put it in
// `before`, as Debezium does for such tables.

/**
 * Route one Insert/Update/Delete to every route of its relation. Pure. Appends to `out` (one
 * allocation-free call per change on the hot path) and returns how many changes it added.
 */
export function routeChange(
  relation: RelationPlan,
  message: InsertMessage | UpdateMessage | DeleteMessage,
  out: RoutedChange[],
): number {
  const before = out.length;
  if (message.tag === 'insert') {
    for (const plan of relation.routes) {
      const values = fullRow(plan, message.newTuple);
      out.push({
        kind: 'upsert',
        plan,
        key: keyText(plan, values),
        values,
        bytes: sizeOf(values),
        update: false,
      });
    }
  } else if (message.tag === 'delete') {
    for (const plan of relation.routes) {
      const keyValues = plan.key.map((k) => text(message.oldTuple[plan.columns[k]!.index]));
      const change: RoutedChange = {
        kind: 'delete',
        plan,
        key: joinKey(keyValues),
        keyValues,
        bytes: sizeOf(keyValues),
      };
      if (message.oldKind === 'full') change.old = oldRow(plan, message.oldTuple);
      out.push(change);
    }
  } else {
    for (const plan of relation.routes) routeUpdate(plan, message, out);
  }
  return out.length - before;
}

function routeUpdate(plan: RoutePlan, message: UpdateMessage, out: RoutedChange[]): void {
  const { newTuple, oldTuple, oldKind } = message;
  // The new key: unsent key values (a TOASTed key that did not change) are in the old key tuple.
  const keyValues = plan.key.map((k) => {
    const index = plan.columns[k]!.index;
    const value = newTuple[index]!;
    return isUnchangedToast(value) ? text(oldTuple?.[index] ?? null) : text(value);
  });
  const key = joinKey(keyValues);
  const oldKeyValues = oldTuple ? plan.key.map((k) => text(oldTuple[plan.columns[k]!.index])) : keyValues;
  const oldKey = oldTuple ? joinKey(oldKeyValues) : key;
  const keyChanged = oldKey !== key;

  if (!keyChanged && !touches(plan, newTuple, oldKind === 'full' ? oldTuple : null)) return;
  const first = out.length;
  pushUpdate(plan, message, keyValues, key, oldKeyValues, oldKey, keyChanged, out);
  if (oldKind === 'full' && oldTuple) {
    const old = oldRow(plan, oldTuple);
    for (let i = first; i < out.length; i++) out[i]!.old = old;
  }
}

function pushUpdate(
  plan: RoutePlan,
  message: UpdateMessage,
  keyValues: Value[],
  key: string,
  oldKeyValues: Value[],
  oldKey: string,
  keyChanged: boolean,
  out: RoutedChange[],
): void {
  const { newTuple, oldTuple, oldKind } = message;

  if (plan.identity && isTextRow(newTuple)) {
    const bytes = sizeOf(newTuple);
    if (keyChanged) {
      out.push({ kind: 'delete', plan, key: oldKey, keyValues: oldKeyValues, bytes: sizeOf(oldKeyValues) });
      out.push({ kind: 'upsert', plan, key, values: newTuple, bytes, update: false });
    } else {
      out.push({ kind: 'upsert', plan, key, values: newTuple, bytes, update: true });
    }
    return;
  }
  let partial = false;
  const values: PartialValue[] = plan.columns.map((column) => {
    const value = newTuple[column.index]!;
    if (!isUnchangedToast(value)) return text(value);
    // REPLICA IDENTITY FULL sends the whole old row: an unchanged value is right there.
    if (oldKind === 'full' && oldTuple && !isUnchangedToast(oldTuple[column.index]!))
      return text(oldTuple[column.index]!);
    partial = true;
    return undefined;
  });
  for (const k of plan.key) values[k] = keyValues[plan.key.indexOf(k)];
  const bytes = sizeOf(values);
  if (keyChanged) {
    if (partial) {
      out.push({ kind: 'move', plan, key, oldKey, oldKeyValues, values, bytes });
    } else {
      out.push({ kind: 'delete', plan, key: oldKey, keyValues: oldKeyValues, bytes: sizeOf(oldKeyValues) });
      out.push({ kind: 'upsert', plan, key, values: values as Value[], bytes, update: false });
    }
  } else if (partial) {
    out.push({ kind: 'patch', plan, key, values, bytes });
  } else {
    out.push({ kind: 'upsert', plan, key, values: values as Value[], bytes, update: true });
  }
}

/**
 * routeChange for a scanned Insert, Update without old tuple, or Delete by key whose tuple holds
 * only text values and NULLs (scanRowChange): no column is decoded but the key. Returns false,
 * having added nothing, when a route needs a column the tuple does not have (the caller then
 * decodes the message and calls routeChange, which says what is wrong).
 */
export function routeRawChange(relation: RelationPlan, raw: RawRowChange, out: RoutedChange[]): boolean {
  const { buf, at } = raw;
  for (const plan of relation.routes) if (raw.columns <= maxIndexOf(plan)) return false;
  if (raw.tag === 'delete') {
    for (const plan of relation.routes) {
      const keyValues = plan.key.map((k) => columnText(buf, at, plan.columns[k]!.index));
      out.push({ kind: 'delete', plan, key: joinKey(keyValues), keyValues, bytes: sizeOf(keyValues) });
    }
    return true;
  }
  const update = raw.tag === 'update';
  const bytes = raw.size + 16 + 4 * raw.columns;
  for (const plan of relation.routes) {
    // Every value was sent, so an update changes what the route holds unless it holds only the key.
    if (update && plan.columns.length === plan.key.length) continue;
    const key =
      plan.key.length === 1
        ? (columnText(buf, at, plan.columns[plan.key[0]!]!.index) ?? '\u0001')
        : joinKey(plan.key.map((k) => columnText(buf, at, plan.columns[k]!.index)));
    out.push(new RawUpsert(plan, key, buf, at, bytes, update));
  }
  return true;
}

const maxIndexes = new WeakMap<RoutePlan, number>();

function maxIndexOf(plan: RoutePlan): number {
  let max = maxIndexes.get(plan);
  if (max === undefined) {
    max = -1;
    for (const column of plan.columns) if (column.index > max) max = column.index;
    maxIndexes.set(plan, max);
  }
  return max;
}

/**
 * Whether an update (same key) changes anything this route holds. Without the old row (replica
 * identity DEFAULT/INDEX) only unsent columns are known to be untouched; with FULL the values
 * are compared.
 */
function touches(plan: RoutePlan, newTuple: Tuple, oldFull: Tuple | null): boolean {
  for (let i = 0; i < plan.columns.length; i++) {
    if (plan.key.includes(i)) continue; // the key is the same (key changes are handled by the caller)
    const column = plan.columns[i]!;
    const value = newTuple[column.index]!;
    if (isUnchangedToast(value)) continue;
    if (!oldFull) return true;
    const old = oldFull[column.index]!;
    if (isUnchangedToast(old) || old !== value) return true;
  }
  return false;
}

/** The route's columns of a REPLICA IDENTITY FULL old row (an unsent TOAST value as NULL). */
function oldRow(plan: RoutePlan, tuple: Tuple): Value[] {
  return plan.columns.map((column) => {
    const value = tuple[column.index] ?? null;
    return isUnchangedToast(value) ? null : text(value);
  });
}

function fullRow(plan: RoutePlan, tuple: Tuple): Value[] {
  // The common case (owner, every column, no renames of position): the decoded tuple is the row.
  if (plan.identity && isTextRow(tuple)) return tuple;
  return plan.columns.map((column) => {
    const value = tuple[column.index]!;
    if (isUnchangedToast(value)) {
      // Never sent by an Insert; a row without the value cannot be written whole.
      throw new CarveError(
        'SYNC_UNEXPECTED_TOAST',
        `An insert into ${plan.route.source.schema}.${plan.route.source.name} left column ${column.source} out`,
        {
          details: { table: `${plan.route.source.schema}.${plan.route.source.name}`, column: column.source },
        },
      );
    }
    return text(value);
  });
}

/** Every value is text or NULL (no unchanged-TOAST marker, no binary value). */
function isTextRow(tuple: Tuple): tuple is Value[] {
  for (const value of tuple) if (value !== null && typeof value !== 'string') return false;
  return true;
}

function keyText(plan: RoutePlan, values: Value[]): string {
  return joinKey(plan.key.map((k) => values[k]!));
}

/** Text values never contain NUL, so NUL separates key parts unambiguously; SOH marks SQL NULL. */
export function joinKey(values: readonly Value[]): string {
  if (values.length === 1) return values[0] ?? '\u0001';
  return values.map((v) => v ?? '\u0001').join('\u0000');
}

function text(value: ColumnValue | undefined): Value {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) {
    throw new CarveError(
      'SYNC_BINARY_VALUE',
      'A binary-format value arrived; carve streams pgoutput in text format',
      {
        hint: 'This is a bug in how the stream was started; report it.',
      },
    );
  }
  return null;
}

function sizeOf(values: readonly PartialValue[]): number {
  let bytes = 16;
  for (const v of values) bytes += v ? v.length + 8 : 8;
  return bytes;
}
