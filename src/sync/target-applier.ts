import { CarveError } from '../errors.js';
import { atService, openSession, type Client } from '../pg/connect.js';
import type { Lsn } from '../pg/lsn.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { pgTimestampToIso, type PgTimestamp } from '../pg/replication/pg-time.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { ServiceRoute, TableRoute } from '../routing/model.js';
import type { ApplyItem } from './apply-queue.js';
import { BatchingSink, type DurablePosition } from './batching-sink.js';
import { RowWriter } from './row-writer.js';
import { PendingChanges } from './pending-changes.js';
import { createPartition } from './create-partition.js';
import { setUpReplicationOrigin } from './replication-origin.js';
import { assertNoForeignObjects } from './target-guard.js';
import type { SinkContext } from './sink.js';
import { isWidening } from './type-widening.js';
import type { TableRef } from '../catalog/model.js';
import type { HoldRow, ResyncMark, SyncState } from './state.js';
import type { Value } from './route-change.js';

export interface TargetApplierOptions {
  service: ServiceRoute;
  state: SyncState;
  sourceUrl: string;
  /** Replication origin this session writes under (replicationOriginName). */
  origin: string;
  /** Apply without collapsing until this position (after a batch hit a unique violation). */
  strictUntil: Lsn;
  /** Between batches, check for planted code again this often (see target-guard.ts). */
  guardIntervalMs: number;
  /**
   * Look for planted code at all (default true). false only for the reverse stream's applier into
   * the monolith, whose code is the operator's own (docs/security.md).
   */
  guard?: boolean;
  onAddedColumn: (applier: TargetApplier, table: string, column: string, type: string) => void;
  onAddedPartition: (applier: TargetApplier, table: string) => void;
  onAlteredColumn?: (applier: TargetApplier, table: string, column: string, from: string, to: string) => void;
  /**
   * More writes that belong with the position, run in the same transaction as every position
   * write (`carve apply` stores its consumer offsets there, so rows, position and offsets commit
   * together).
   */
  positionWrites?: (client: Client, position: Lsn) => Promise<void>;
}

/**
 * Applies one service database's share of the stream, strictly in source commit order, on its own
 * connection: many source transactions per target transaction, each table's rows collapsed into
 * multi-row statements (see PendingChanges), and the position written in the same transaction as
 * the rows (BatchingSink runs the loop, holds and positions).
 */
export class TargetApplier extends BatchingSink {
  readonly name: string;
  readonly kind = 'applier';
  /** The service database (same as name). */
  readonly database: string;

  private client: Client | undefined;
  private writer: RowWriter | undefined;
  private pending = new PendingChanges(false);
  private lastGuard = Date.now();

  constructor(
    context: SinkContext,
    private readonly options: TargetApplierOptions,
  ) {
    super(context);
    this.database = options.service.database;
    this.name = this.database;
  }

  accepts(route: TableRoute): boolean {
    return route.database === this.database;
  }

  protected async connect(): Promise<DurablePosition> {
    // As carve's role for this database, never the admin (docs/security.md).
    this.client = await openSession(atService(this.options.service.url), {
      applicationName: this.context.applicationName,
    });
    try {
      // FK and user triggers off while applying (as PostgreSQL's own apply workers do): tables are
      // applied in batches, not in the monolith's statement order across tables. Every statement
      // joins a batch of keys to a table: index probes (nested loops) are the plan that scales.
      // The rows are sorted by key first (apply-sql.ts): work_mem holds a statement's rows (a
      // flush's rows of one kind: about pieceChanges, at most pieceBytes) so the sort stays in memory.
      await this.client.query(
        `SET session_replication_role = replica; SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET statement_timeout = 0; SET enable_hashjoin = off; SET enable_mergejoin = off; SET work_mem = '64MB'`,
      );
    } catch (error) {
      if (sqlStateOf(error) === SqlState.insufficientPrivilege) {
        const role = this.options.service.carveRole;
        throw new CarveError(
          'SYNC_TARGET_PRIVILEGE',
          `carve sync may not set session_replication_role in ${this.database} (as ${role})`,
          {
            details: { database: this.database, role },
            // Unguarded = the reverse stream's applier into the monolith, whose user provision never touches.
            hint:
              this.options.guard === false
                ? `As a superuser on the monolith: GRANT SET ON PARAMETER session_replication_role TO ${quoteIdent(role)} (the plan's source user), then run carve sync again.`
                : `Run carve provision again (it grants this), or as a superuser: GRANT SET ON PARAMETER session_replication_role TO ${quoteIdent(role)}.`,
            cause: error,
          },
        );
      }
      throw error;
    }
    // Every session, before its first write: nothing planted on these tables may run.
    if (this.options.guard !== false)
      await assertNoForeignObjects(this.client, this.options.service, this.options.state.schema, 'sync');
    await setUpReplicationOrigin(this.client, this.options.origin, { database: this.database });
    this.writer = new RowWriter(
      this.client,
      this.options.sourceUrl,
      this.context.applicationName,
      this.totals,
    );
    this.targetColumns.clear();
    const position = await this.options.state.readPosition(this.client);
    this.pending = new PendingChanges(this.options.strictUntil > position.lsn);
    return { lsn: position.lsn, commitTime: position.commitTime };
  }

  protected async disconnect(): Promise<void> {
    await this.writer?.close();
    await this.client?.end().catch(() => {});
  }

  /** Called between batches (and when the session opens): also where planted code is looked for again. */
  protected override async readTableHolds(): Promise<readonly HoldRow[]> {
    if (this.options.guard !== false && Date.now() - this.lastGuard >= this.options.guardIntervalMs) {
      // Code planted after the session started runs with no more than carve's role's rights, but
      // it should not run for long: stop once it shows up.
      this.lastGuard = Date.now();
      await assertNoForeignObjects(this.client!, this.options.service, this.options.state.schema, 'sync');
    }
    return this.options.state.readHolds(this.client!);
  }

  protected override async recordHoldReached(lsn: Lsn, moved: boolean, fromTable: boolean): Promise<void> {
    await this.client!.query('BEGIN');
    if (moved) {
      await this.options.state.writePosition(this.client!, this.position, null);
      await this.options.positionWrites?.(this.client!, this.position);
    }
    if (fromTable) await this.options.state.markHoldReached(this.client!, lsn);
    await this.client!.query('COMMIT');
  }

  protected override async recordHoldFailed(lsn: Lsn, error: string): Promise<void> {
    await this.options.state.markHoldFailed(this.client!, lsn, error);
  }

  protected async beginBatch(): Promise<void> {
    const results = (await this.client!.query(this.options.state.beginApplySql)) as unknown as {
      rows: Record<string, unknown>[];
    }[];
    this.holds.replaceTableHolds(this.options.state.holdRows(results[2]!.rows));
    // Read under the same lock as the holds: carve resync registers a table while holding it
    // EXCLUSIVE, so no batch applies a change of that table without knowing.
    this.resyncs = this.options.state.resyncRows(results[3]!.rows);
    this.deleted = new Map();
  }

  /** Tables carve resync re-copies (by route id), as read at the start of the current batch. */
  private resyncs = new Map<string, ResyncMark>();
  /** Keys deleted in this batch from tables being re-copied (null: truncated), by route id. */
  private deleted = new Map<string, (Value[] | null)[]>();
  /** Commit position of the source transaction being delivered. */
  private sourceCommit: Lsn = 0n;

  /**
   * False when the change is already in a re-copy of its table (committed before the copy's
   * snapshot); while the copy runs, keys deleted are recorded so that it does not bring them back.
   */
  private wanted(route: TableRoute, deletedKey?: Value[] | null): boolean {
    const mark = this.resyncs.get(route.id);
    if (!mark) return true;
    if (this.sourceCommit < mark.lsn) return false;
    if (mark.copying && deletedKey !== undefined) {
      let keys = this.deleted.get(route.id);
      if (!keys) this.deleted.set(route.id, (keys = []));
      keys.push(deletedKey);
    }
    return true;
  }

  protected deliver(item: ApplyItem): Promise<void> | void {
    switch (item.kind) {
      case 'begin':
        this.sourceCommit = item.commitLsn;
        return;
      case 'commit':
        if (this.pending.strict && item.endLsn >= this.options.strictUntil) return this.leaveStrict();
        return;
      case 'advance':
        return;
      case 'truncate': {
        const tables = item.tables.filter((_, i) => this.wanted(item.plans[i]!.route, null));
        return tables.length > 0 ? this.truncate(tables) : undefined;
      }
      case 'add-column':
        return this.addColumn(item);
      case 'alter-column':
        return this.alterColumn(item);
      case 'add-partitions':
        return this.addPartitions(item);
      case 'move':
        if (!this.wanted(item.plan.route, item.oldKeyValues)) return;
        return this.move(item);
      default:
        if (!this.wanted(item.plan.route, item.kind === 'delete' ? item.keyValues : undefined)) return;
        if (!this.pending.add(item)) return this.addAfterDrain(item);
        if (this.pieceFull()) return this.flushAll();
    }
  }

  /** Run the pending statements inside the open transaction once this much is pending. */
  private pieceFull(): boolean {
    return (
      this.pending.count >= this.context.batch.pieceChanges ||
      this.pending.bytes >= this.context.batch.pieceBytes
    );
  }

  protected async commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    await this.flushAll();
    for (const [route, keys] of this.deleted) {
      await this.client!.query(this.options.state.recordDeletedSql, [
        this.options.state.migration,
        route,
        JSON.stringify(keys),
      ]);
    }
    this.deleted = new Map();
    await this.client!.query(
      this.options.state.writePositionSql,
      this.options.state.writePositionParams(
        position,
        commitTime === null ? null : pgTimestampToIso(commitTime),
      ),
    );
    await this.options.positionWrites?.(this.client!, position);
    await this.client!.query('COMMIT');
  }

  protected async writePosition(position: Lsn): Promise<void> {
    if (!this.options.positionWrites) {
      await this.options.state.writePosition(this.client!, position, null);
      return;
    }
    await this.client!.query('BEGIN');
    await this.options.state.writePosition(this.client!, position, null);
    await this.options.positionWrites(this.client!, position);
    await this.client!.query('COMMIT');
  }

  private async truncate(tables: (ApplyItem & { kind: 'truncate' })['tables']): Promise<void> {
    await this.flushAll();
    await this.client!.query(`TRUNCATE ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`);
  }

  private async addColumn(item: ApplyItem & { kind: 'add-column' }): Promise<void> {
    await this.flushAll();
    const present = await this.columnType(item.table, item.column);
    if (present !== null) return; // added by an earlier run (the batch that did it committed)
    // The default is the value rows from before the change hold on the monolith, so inserts
    // replayed from before it (which do not carry the column) get it too.
    const fill = item.defaultLiteral === null ? '' : ` DEFAULT ${item.defaultLiteral}`;
    await this.client!.query(
      `ALTER TABLE ${quoteQualified(item.table.schema, item.table.name)} ADD COLUMN ${quoteIdent(item.column)} ${item.type}${fill}`,
    );
    // Forgotten if the batch rolls back: read again from the table then.
    this.targetColumns.delete(quoteQualified(item.table.schema, item.table.name));
    this.options.onAddedColumn(this, `${item.table.schema}.${item.table.name}`, item.column, item.type);
  }

  /** Widen a column (only from a narrower type: replayed older Relations never narrow it back). */
  private async alterColumn(item: ApplyItem & { kind: 'alter-column' }): Promise<void> {
    await this.flushAll();
    const present = await this.columnType(item.table, item.column);
    if (present === null || !isWidening(present, item.type)) return;
    await this.client!.query(
      `ALTER TABLE ${quoteQualified(item.table.schema, item.table.name)} ALTER COLUMN ${quoteIdent(item.column)} TYPE ${item.type}`,
    );
    this.targetColumns.delete(quoteQualified(item.table.schema, item.table.name));
    this.options.onAlteredColumn?.(
      this,
      `${item.table.schema}.${item.table.name}`,
      item.column,
      present,
      item.type,
    );
  }

  /** format_type of a column of a target table, null when it has no such column (read once per table and session). */
  private async columnType(table: TableRef, column: string): Promise<string | null> {
    const name = quoteQualified(table.schema, table.name);
    let columns = this.targetColumns.get(name);
    if (!columns) {
      const { rows } = await this.client!.query(
        `SELECT attname AS name, pg_catalog.format_type(atttypid, atttypmod) AS type FROM pg_catalog.pg_attribute
          WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
        [name],
      );
      columns = new Map(rows.map((r) => [r.name as string, r.type as string]));
      this.targetColumns.set(name, columns);
    }
    return columns.get(column) ?? null;
  }

  /** Column types of target tables, as columnType() read them (DDL sync ran updates them). */
  private readonly targetColumns = new Map<string, Map<string, string>>();

  private async addPartitions(item: ApplyItem & { kind: 'add-partitions' }): Promise<void> {
    await this.flushAll();
    for (const partition of item.partitions) {
      if (await createPartition(this.client!, partition))
        this.options.onAddedPartition(this, `${partition.table.schema}.${partition.table.name}`);
    }
  }

  private async move(item: ApplyItem & { kind: 'move' }): Promise<void> {
    const earlier = this.pending.drainTable(item.plan);
    if (earlier) await this.writer!.write(earlier, this.pending.strict);
    await this.writer!.move(item);
  }

  /** The row's pending change cannot absorb this one (PendingChanges.add): write the table first. */
  private async addAfterDrain(item: ApplyItem & { kind: 'upsert' | 'patch' | 'delete' }): Promise<void> {
    const earlier = this.pending.drainTable(item.plan);
    if (earlier) await this.writer!.write(earlier, this.pending.strict);
    this.pending.add(item);
    if (this.pieceFull()) await this.flushAll();
  }

  private async flushAll(): Promise<void> {
    for (const flush of this.pending.drain()) await this.writer!.write(flush, this.pending.strict);
  }

  private async leaveStrict(): Promise<void> {
    await this.flushAll();
    this.pending = new PendingChanges(false);
  }
}
