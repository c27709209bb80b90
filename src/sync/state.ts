import type { Client } from '../pg/connect.js';
import { INVALID_LSN, formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { isoTimestampSql } from '../pg/replication/pg-time.js';
import { quoteQualified } from '../pg/quote.js';
import type { SyncStopError } from './events.js';
import type { HoldRow } from './hold-row.js';

export type { SyncStopError } from './events.js';

/**
 * sync's reads and writes of carve's state tables in one target database (src/state/state-schema.ts).
 *
 * apply_position.lsn is a "resume from" position: every source transaction whose commit record
 * starts before it (Commit.commitLsn < lsn) is in this database, none at or after it is. After a
 * transaction it is that transaction's Commit.endLsn — exactly what the slot is acknowledged with,
 * and copy initialises it to the slot's consistent point, which has the same meaning.
 */

export class SyncState {
  constructor(
    readonly schema: string,
    readonly migration: string,
  ) {}

  table(name: 'migrations' | 'apply_position' | 'holds' | 'resyncs' | 'resync_deleted'): string {
    return quoteQualified(this.schema, name);
  }

  /** Why sync stopped (or null, to clear it when a sync starts). Not in an apply transaction. */
  async recordSyncError(client: Client, error: SyncStopError | null): Promise<void> {
    await client.query(`UPDATE ${this.table('migrations')} SET sync_error = $2::jsonb WHERE migration = $1`, [
      this.migration,
      error === null ? null : JSON.stringify(error),
    ]);
  }

  async readSyncError(client: Client): Promise<SyncStopError | null> {
    const { rows } = await client.query(
      `SELECT sync_error FROM ${this.table('migrations')} WHERE migration = $1`,
      [this.migration],
    );
    return (rows[0]?.sync_error as SyncStopError | null | undefined) ?? null;
  }

  async readMigration(
    client: Client,
  ): Promise<{ slot: string; publication: string; copyFinished: boolean } | undefined> {
    const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
      this.table('migrations'),
    ]);
    if (!exists.rows[0].present) return undefined;
    const { rows } = await client.query(
      `SELECT slot, publication, copy_finished_at IS NOT NULL AS finished FROM ${this.table('migrations')} WHERE migration = $1`,
      [this.migration],
    );
    return rows[0]
      ? { slot: rows[0].slot, publication: rows[0].publication, copyFinished: rows[0].finished }
      : undefined;
  }

  async readPosition(client: Client): Promise<AppliedPosition> {
    const { rows } = await client.query(
      `SELECT lsn::text AS lsn, ${isoTimestampSql('commit_time')} AS commit_time, updated_at::text AS updated_at,
              extract(epoch FROM now() - commit_time)::float8 AS commit_age
         FROM ${this.table('apply_position')} WHERE migration = $1`,
      [this.migration],
    );
    if (!rows[0]) return { lsn: INVALID_LSN, commitTime: null, updatedAt: null, commitAgeSeconds: null };
    return {
      lsn: parseLsn(rows[0].lsn),
      commitTime: rows[0].commit_time,
      updatedAt: rows[0].updated_at,
      commitAgeSeconds: rows[0].commit_age,
    };
  }

  /**
   * Parameters: migration, lsn, commit time (ISO or null: keep the last one). Run by an applier
   * session set up with a replication origin (replication-origin.ts): the same statement marks the
   * transaction with the source position and commit time (pg_replication_origin_xact_setup), so
   * the origin's remote_lsn moves with apply_position and a stream reading this database sees the
   * source commit time on carve's transactions.
   */
  get writePositionSql(): string {
    const table = this.table('apply_position');
    return `UPDATE ${table}
               SET lsn = $2::pg_lsn, commit_time = coalesce($3::timestamptz, commit_time), updated_at = now()
              FROM (SELECT pg_catalog.pg_replication_origin_xact_setup($2::pg_lsn,
                             coalesce($3::timestamptz, (SELECT commit_time FROM ${table} WHERE migration = $1), now()))) AS origin
             WHERE migration = $1`;
  }

  /** The parameters of writePositionSql for a position and a commit time (ISO or null). */
  writePositionParams(lsn: Lsn, commitTime: string | null): unknown[] {
    return [this.migration, formatLsn(lsn), commitTime];
  }

  async writePosition(client: Client, lsn: Lsn, commitTime: string | null): Promise<void> {
    await client.query(this.writePositionSql, this.writePositionParams(lsn, commitTime));
  }

  /**
   * First statements of every applying transaction, in one round trip: the ROW SHARE lock makes a
   * hold requester (which takes EXCLUSIVE, see hold-request.ts) wait for this transaction, and
   * this transaction see every hold committed before it started. No bound parameters are possible
   * in a multi-statement query, so rows of every migration are read and filtered by the caller.
   */
  get beginApplySql(): string {
    const holds = this.table('holds');
    return `BEGIN; LOCK TABLE ${holds} IN ROW SHARE MODE; SELECT migration, hold_lsn::text AS lsn, requested_by, reached_at IS NOT NULL AS reached, error FROM ${holds}; SELECT migration, route_id, snapshot_lsn::text AS lsn, phase FROM ${this.table('resyncs')}`;
  }

  /** The resyncs of this migration (rows of beginApplySql's last result), by route id. */
  resyncRows(rows: Record<string, unknown>[]): Map<string, ResyncMark> {
    return new Map(
      rows
        .filter((r) => r.migration === this.migration)
        .map((r) => [String(r.route_id), { lsn: parseLsn(String(r.lsn)), copying: r.phase === 'copying' }]),
    );
  }

  async readResyncs(client: Client): Promise<Map<string, ResyncMark>> {
    const { rows } = await client.query(
      `SELECT migration, route_id, snapshot_lsn::text AS lsn, phase FROM ${this.table('resyncs')} WHERE migration = $1`,
      [this.migration],
    );
    return this.resyncRows(rows);
  }

  /**
   * Keys sync deleted from a table carve resync is copying (key null: it truncated the table), so
   * the copy, made at an older snapshot, does not bring those rows back. Parameters: migration,
   * route id, JSON array of keys (each an array of text values, or null).
   */
  get recordDeletedSql(): string {
    return `INSERT INTO ${this.table('resync_deleted')} (migration, route_id, key)
            SELECT $1, $2, CASE WHEN k = 'null'::jsonb THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(k)) END
              FROM jsonb_array_elements($3::jsonb) AS k
            ON CONFLICT DO NOTHING`;
  }

  async readHolds(client: Client): Promise<HoldRow[]> {
    const { rows } = await client.query(
      `SELECT migration, hold_lsn::text AS lsn, requested_by, reached_at IS NOT NULL AS reached, error
         FROM ${this.table('holds')} WHERE migration = $1`,
      [this.migration],
    );
    return this.holdRows(rows);
  }

  holdRows(rows: Record<string, unknown>[]): HoldRow[] {
    return rows
      .filter((r) => r.migration === this.migration)
      .map((r) => ({
        lsn: parseLsn(String(r.lsn)),
        requestedBy: String(r.requested_by),
        reached: r.reached === true,
        error: (r.error as string | null) ?? null,
      }));
  }

  /**
   * The lag a running sync last recorded here (lag-recorder.ts) and how old that record is; null
   * when none. Read through to_jsonb so that state tables from before those columns still work.
   */
  async readRecordedLag(
    client: Client,
  ): Promise<{ seconds: number | null; exact: boolean; ageSeconds: number } | null> {
    const { rows } = await client.query(
      `SELECT (r ->> 'lag_seconds')::float8 AS seconds, (r ->> 'lag_exact')::boolean AS exact,
              extract(epoch FROM pg_catalog.now() - (r ->> 'lag_at')::timestamptz)::float8 AS age
         FROM (SELECT pg_catalog.to_jsonb(m) AS r FROM ${this.table('migrations')} m WHERE migration = $1) x
        WHERE r ->> 'lag_at' IS NOT NULL`,
      [this.migration],
    );
    const r = rows[0];
    return r ? { seconds: r.seconds, exact: r.exact === true, ageSeconds: r.age } : null;
  }

  async markHoldReached(client: Client, lsn: Lsn): Promise<void> {
    await client.query(
      `UPDATE ${this.table('holds')} SET reached_at = coalesce(reached_at, now()) WHERE migration = $1 AND hold_lsn = $2::pg_lsn`,
      [this.migration, formatLsn(lsn)],
    );
  }

  async markHoldFailed(client: Client, lsn: Lsn, error: string): Promise<void> {
    await client.query(
      `UPDATE ${this.table('holds')} SET error = $3 WHERE migration = $1 AND hold_lsn = $2::pg_lsn`,
      [this.migration, formatLsn(lsn), error],
    );
  }
}

/** A table carve resync re-copies (or re-copied) at a snapshot: its changes before `lsn` are in the copy. */
export interface ResyncMark {
  lsn: Lsn;
  /** The copy is still running: keys sync deletes are recorded (resync_deleted). */
  copying: boolean;
}

export interface AppliedPosition {
  lsn: Lsn;
  commitTime: string | null;
  updatedAt: string | null;
  /** now() − commit_time on the target's clock, in seconds. */
  commitAgeSeconds: number | null;
}

export type { HoldRow } from './hold-row.js';
