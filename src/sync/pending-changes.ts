import { RawUpsert, type PartialValue, type RoutedChange, type Value } from './route-change.js';
import type { RoutePlan } from './route-plan.js';

/** A whole row: decoded values, or still the bytes of the pgoutput payload. */
export type Row = Value[] | RawUpsert;

/** The row's values as text (decoding a raw row). */
export function rowValues(row: Row): Value[] {
  return row instanceof RawUpsert ? row.values : row;
}

/** The net effect, so far in a batch, of the changes to one row. */
export type NetChange =
  /** exists: the row was in the target before this batch (its last write came from an UPDATE). */
  | { kind: 'upsert'; values: Row; exists: boolean }
  | { kind: 'patch'; values: PartialValue[] }
  | { kind: 'delete'; keyValues: Value[] };

/**
 * What a flush of one table runs, in this order: deletes, whole-row updates of rows that exist,
 * whole-row upserts of new rows, patches per column set.
 */
export interface TableFlush {
  plan: RoutePlan;
  deletes: Value[][];
  /** Rows last written by an UPDATE: UPDATE by key (cheaper than an upsert), upsert if any is missing. */
  updates: Row[];
  upserts: Row[];
  /** Patches grouped by the non-key columns they set (positions in plan.columns); rows are whole. */
  patches: { set: number[]; rows: PartialValue[][] }[];
}

/**
 * The changes of a batch for one target database, reduced to one net change per row and table.
 *
 * Row state is what is replicated, so the changes to one key collapse (insert + updates = one
 * upsert of the last image; a patch merges into what it follows; a delete wins). Keys within a
 * table are then distinct, which lets each flush run one multi-row statement per kind without
 * ON CONFLICT touching a row twice; deletes run first so a freed unique value can be taken again.
 *
 * In `strict` mode nothing collapses: a change to a key already pending, or of another kind,
 * closes the table's segment first. That keeps the source order exactly (used to retry a batch
 * whose reordering hit a secondary unique constraint).
 */
export class PendingChanges {
  private readonly tables = new Map<RoutePlan, Map<string, NetChange>>();
  private readonly lastKind = new Map<RoutePlan, NetChange['kind']>();
  private countValue = 0;
  private bytesValue = 0;

  constructor(readonly strict = false) {}

  /** Net rows pending (after collapsing). */
  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  get isEmpty(): boolean {
    return this.countValue === 0;
  }

  /**
   * Add a change. Returns false when the change cannot join the pending set (a `move`, or in
   * strict mode a repeated key or a new kind): flush the table (or everything) and add it again.
   */
  add(change: Exclude<RoutedChange, { kind: 'move' }>): boolean {
    let rows = this.tables.get(change.plan);
    if (!rows) {
      rows = new Map();
      this.tables.set(change.plan, rows);
    }
    const previous = rows.get(change.key);
    if (
      this.strict &&
      rows.size > 0 &&
      (previous !== undefined || this.lastKind.get(change.plan) !== change.kind)
    ) {
      return false;
    }
    if (this.strict) this.lastKind.set(change.plan, change.kind);
    let next: NetChange;
    if (change.kind === 'upsert') {
      // An UPDATE after this batch inserted (or deleted) the row: the row is not in the table yet.
      const exists =
        change.update &&
        (previous === undefined ||
          previous.kind === 'patch' ||
          (previous.kind === 'upsert' && previous.exists));
      next = { kind: 'upsert', values: change instanceof RawUpsert ? change : change.values, exists };
    } else if (change.kind === 'delete') next = { kind: 'delete', keyValues: change.keyValues };
    else if (previous?.kind === 'upsert')
      next = {
        kind: 'upsert',
        values: merge(rowValues(previous.values), change.values) as Value[],
        exists: previous.exists,
      };
    else if (previous?.kind === 'patch')
      next = { kind: 'patch', values: merge(previous.values, change.values) };
    else next = { kind: 'patch', values: change.values };
    if (previous === undefined) this.countValue++;
    rows.set(change.key, next);
    this.bytesValue += change.bytes;
    return true;
  }

  hasTable(plan: RoutePlan): boolean {
    return (this.tables.get(plan)?.size ?? 0) > 0;
  }

  /** Take everything pending (tables in the order they were first touched) and start empty. */
  drain(): TableFlush[] {
    const flushes: TableFlush[] = [];
    for (const [plan, rows] of this.tables) {
      if (rows.size > 0) flushes.push(toFlush(plan, rows));
    }
    this.tables.clear();
    this.lastKind.clear();
    this.countValue = 0;
    this.bytesValue = 0;
    return flushes;
  }

  /** Take only one table's pending rows (before a change that must run on its own). */
  drainTable(plan: RoutePlan): TableFlush | undefined {
    const rows = this.tables.get(plan);
    if (!rows || rows.size === 0) return undefined;
    this.tables.delete(plan);
    this.lastKind.delete(plan);
    this.countValue -= rows.size;
    if (this.countValue === 0) this.bytesValue = 0;
    return toFlush(plan, rows);
  }
}

function merge(base: readonly PartialValue[], patch: readonly PartialValue[]): PartialValue[] {
  return base.map((value, i) => (patch[i] === undefined ? value : patch[i]));
}

function toFlush(plan: RoutePlan, rows: Map<string, NetChange>): TableFlush {
  const flush: TableFlush = { plan, deletes: [], updates: [], upserts: [], patches: [] };
  const bySet = new Map<string, { set: number[]; rows: PartialValue[][] }>();
  const keys = new Set(plan.key);
  for (const change of rows.values()) {
    if (change.kind === 'delete') flush.deletes.push(change.keyValues);
    else if (change.kind === 'upsert') (change.exists ? flush.updates : flush.upserts).push(change.values);
    else {
      const set: number[] = [];
      for (let i = 0; i < change.values.length; i++)
        if (change.values[i] !== undefined && !keys.has(i)) set.push(i);
      const signature = set.join(',');
      let group = bySet.get(signature);
      if (!group) bySet.set(signature, (group = { set, rows: [] }));
      group.rows.push(change.values);
    }
  }
  flush.patches = [...bySet.values()];
  return flush;
}
