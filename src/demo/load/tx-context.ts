import type { Client, pg } from '../../pg/connect.js';
import { quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA } from '../caresync-tables.js';
import type { RowCounts } from './load-types.js';
import type { Prng } from './prng.js';
import type { RangedTable, ReferenceData } from './reference-data.js';

/**
 * Where a statement on a table runs (service-routed mode): the connection, already inside its
 * own transaction on that database, and the statement rewritten for the table's name there.
 */
export type TxRoute = (table: string, sql: string) => Promise<{ client: Client; sql: string }>;

/**
 * One load transaction in progress: its connection, its random stream, and the row changes it
 * made (merged into the statistics only if it commits). In service-routed mode each statement
 * goes to the database that owns its table (`route`), so one transaction may become several.
 */
export class TxContext {
  readonly changes = new Map<string, RowCounts>();
  /** Ids this transaction inserted into ranged tables; they become pickable after the commit. */
  readonly newIds = new Map<RangedTable, number>();

  constructor(
    readonly client: Client,
    readonly rng: Prng,
    readonly ref: ReferenceData,
    /** Distinguishes this run's unique strings (MRNs, references) from earlier runs'. */
    readonly tag: string,
    private readonly route?: TxRoute,
  ) {}

  /** Run a statement on `table` (a read, or a write counted by the caller) where the table lives now. */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(
    table: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    if (!this.route) return this.client.query<R>(sql, params);
    const routed = await this.route(table, sql);
    return routed.client.query<R>(routed.sql, params);
  }

  /** Run an INSERT / UPDATE / DELETE on `table` and count the rows it touched. */
  async write<R extends Record<string, unknown> = Record<string, unknown>>(
    change: keyof RowCounts,
    table: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    const result = await this.query(table, sql, params);
    const counts = this.changes.get(table) ?? { inserted: 0, updated: 0, deleted: 0 };
    counts[change] += result.rowCount ?? 0;
    this.changes.set(table, counts);
    return result.rows as R[];
  }

  noteInserted(table: RangedTable, id: number): void {
    this.newIds.set(table, Math.max(id, this.newIds.get(table) ?? 0));
  }

  /**
   * An existing row of `table` at or after a random id (wrapping to the start), optionally with
   * a condition and locked. Returns the requested columns, or undefined when nothing matches.
   */
  async pick<R extends Record<string, unknown>>(
    table: RangedTable,
    columns: string,
    options: { where?: string; lock?: boolean } = {},
  ): Promise<R | undefined> {
    const range = this.ref.ranges[table];
    const from = this.rng.int(range.lo, Math.max(range.lo, range.hi));
    const where = options.where ? ` AND (${options.where})` : '';
    const lock = options.lock ? ' FOR UPDATE SKIP LOCKED' : '';
    const sql = `SELECT ${columns} FROM ${quoteQualified(CARESYNC_SCHEMA, table)} WHERE id >= $1${where} ORDER BY id LIMIT 1${lock}`;
    const first = await this.query<R>(table, sql, [from]);
    if (first.rows[0]) return first.rows[0];
    const wrapped = await this.query<R>(table, sql, [range.lo]);
    return wrapped.rows[0];
  }
}
