import { atMonolith, type Client, openSession } from '../pg/connect.js';
import { BinaryTextArrays } from '../pg/text-array.js';
import { deleteSql, moveSql, patchSql, refetchSql, updateSql, upsertSql } from './apply-sql.js';
import type { TableFlush } from './pending-changes.js';
import { rowColumns } from './row-columns.js';
import type { PartialValue, RoutedChange, Value } from './route-change.js';
import type { RoutePlan } from './route-plan.js';
import { sourceSessionUrl } from './source-session.js';

/**
 * Rows per statement. A statement sorts its rows by key (apply-sql.ts): the more rows one sort
 * sees, the closer together their keys and the more of them share an index or heap page. A flush
 * holds at most about `pieceChanges` rows (10,000 by default, the memory bound), so this puts a
 * flush's rows of one kind in one statement. 5,000 rows per statement lowered no peak RSS into
 * nine databases (bench/RESULTS.md, issue 15, "apply and serialise side") and sorts fewer keys
 * together.
 */
const ROWS_PER_STATEMENT = 50_000;

/**
 * Runs the statements of flushed changes on one target connection (inside the applier's open
 * transaction), and re-reads from the monolith the rows a patch found missing.
 *
 * A patch (an update whose TOASTed values were left unchanged) can find no row when a resumed copy
 * read the table under a newer snapshot than the stream started from (docs/copy.md). The change
 * alone cannot rebuild the row, so the row's current state is read from the monolith and upserted:
 * it is newer than the change, and every later change is replayed over it. A row the monolith no
 * longer has is skipped (its delete is further on in the stream).
 */
export class RowWriter {
  private source: Client | undefined;
  /** The parameters of the statement being sent, in buffers kept from one statement to the next. */
  private readonly arrays = new BinaryTextArrays();
  private readonly sql = new WeakMap<
    RoutePlan,
    {
      upsert: string;
      update: string;
      delete: string;
      /** The same in source order (strict mode, apply-sql.ts). */
      inOrder: { upsert: string; update: string; delete: string };
      refetch: string;
      patch: Map<string, string>;
    }
  >();

  constructor(
    private readonly client: Client,
    private readonly sourceUrl: string,
    private readonly applicationName: string,
    private readonly counters: { refetched: number; refetchMissing: number },
  ) {}

  /**
   * `sourceOrder`: keep the rows' order (a strict-mode segment, replayed because the key order
   * broke a unique constraint); otherwise each statement sorts its rows by key.
   */
  async write(flush: TableFlush, sourceOrder = false): Promise<void> {
    const all = this.statements(flush.plan);
    const sql = sourceOrder ? all.inOrder : all;
    for (const rows of chunks(flush.deletes))
      await this.client.query(sql.delete, this.columnsOf(rows, rows[0]!.length));
    for (const rows of chunks(flush.updates)) {
      const params = rowColumns(flush.plan, rows, this.arrays);
      const result = await this.client.query(sql.update, params);
      // Some row was not there (a resumed copy, or a replay after it was deleted): upsert them all.
      if (result.rowCount !== rows.length) await this.client.query(sql.upsert, params);
    }
    for (const rows of chunks(flush.upserts))
      await this.client.query(sql.upsert, rowColumns(flush.plan, rows, this.arrays));
    for (const group of flush.patches) {
      const signature = `${sourceOrder ? 'in order ' : ''}${group.set.join(',')}`;
      let text = all.patch.get(signature);
      if (!text) all.patch.set(signature, (text = patchSql(flush.plan, group.set, !sourceOrder)));
      for (const rows of chunks(group.rows)) {
        const params = this.patchParams(flush.plan, group.set, rows);
        const result = await this.client.query(text, params);
        if (result.rows.length === rows.length) continue;
        const found = new Set(result.rows.map((r) => Number(r.n)));
        const missing = rows.filter((_, i) => !found.has(i + 1));
        await this.refetch(
          flush.plan,
          missing.map((row) => flush.plan.key.map((k) => row[k] as Value)),
        );
      }
    }
  }

  /** A key-changing update with unsent TOAST values: move the row, or re-read it under its new key. */
  async move(change: Extract<RoutedChange, { kind: 'move' }>): Promise<void> {
    const plan = change.plan;
    const set: number[] = [];
    change.values.forEach((v, i) => v !== undefined && set.push(i));
    const params: Value[] = [...change.oldKeyValues, ...set.map((i) => change.values[i] as Value)];
    const result = await this.client.query(moveSql(plan, set), params);
    if (result.rowCount === 0) await this.refetch(plan, [plan.key.map((k) => change.values[k] as Value)]);
  }

  async close(): Promise<void> {
    await this.source?.end().catch(() => {});
    this.source = undefined;
  }

  private async refetch(plan: RoutePlan, keys: Value[][]): Promise<void> {
    if (keys.length === 0) return;
    this.source ??= await openSession(atMonolith(sourceSessionUrl(this.sourceUrl)), {
      applicationName: `${this.applicationName} (re-read)`,
    });
    const sql = this.statements(plan);
    const { rows } = await this.source.query({
      text: sql.refetch,
      values: this.columnsOf(keys, plan.key.length),
      rowMode: 'array',
    });
    this.counters.refetched += rows.length;
    this.counters.refetchMissing += keys.length - rows.length;
    if (rows.length > 0)
      await this.client.query(sql.upsert, rowColumns(plan, rows as Value[][], this.arrays));
  }

  /** Row-major values to one binary text[] per column (each bound as one parameter). */
  private columnsOf(rows: readonly (readonly PartialValue[])[], width: number): Buffer[] {
    const out = this.arrays.take(width);
    for (const row of rows) for (let c = 0; c < width; c++) out[c]!.add(row[c] as Value);
    return out.map((a) => a.finish());
  }

  /** A patch's parameters: the key columns, then the `set` columns. */
  private patchParams(plan: RoutePlan, set: readonly number[], rows: readonly PartialValue[][]): Buffer[] {
    const positions = [...plan.key, ...set];
    const out = this.arrays.take(positions.length);
    for (const row of rows)
      for (let c = 0; c < positions.length; c++) out[c]!.add(row[positions[c]!] as Value);
    return out.map((a) => a.finish());
  }

  private statements(plan: RoutePlan) {
    let sql = this.sql.get(plan);
    if (!sql) {
      sql = {
        upsert: upsertSql(plan),
        update: updateSql(plan),
        delete: deleteSql(plan),
        inOrder: {
          upsert: upsertSql(plan, false),
          update: updateSql(plan, false),
          delete: deleteSql(plan, false),
        },
        refetch: refetchSql(plan),
        patch: new Map(),
      };
      this.sql.set(plan, sql);
    }
    return sql;
  }
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  if (rows.length === 0) return;
  if (rows.length <= ROWS_PER_STATEMENT) {
    yield rows;
    return;
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) yield rows.slice(i, i + ROWS_PER_STATEMENT);
}
