import type { TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';

export type ChunkMethod = 'all' | 'key' | 'ctid';
export type ChunkStatus = 'pending' | 'done' | 'failed';

/** One slice of one source relation, to be loaded into one route's target table. */
export interface PlannedChunk {
  chunkNo: number;
  /** The relation read: the table itself, or one leaf partition of it. */
  source: TableRef;
  method: ChunkMethod;
  /** Inclusive lower bound (key value or block number), null = unbounded. */
  lower: string | null;
  /** Exclusive upper bound, null = unbounded. */
  upper: string | null;
  estimatedBytes: number;
}

export interface ChunkRecord extends PlannedChunk {
  routeId: string;
  status: ChunkStatus;
  rows: number | null;
  bytes: number | null;
  attempts: number;
  error: string | null;
  sqlstate: string | null;
}

export interface MigrationRecord {
  slot: string;
  publication: string;
  consistentLsn: string;
  copyFinishedAt: string | null;
  /** Rows were loaded under a snapshot later than the slot's: consistent once applied up to here. */
  consistentAfter: string | null;
}

/** carve copy was about to create `slot` in monolith `database` when its WAL was at `claimedLsn`. */
export interface SlotClaim {
  slot: string;
  database: string;
  claimedLsn: string;
}

/** Reads and writes the copy plan and log in one target database. */
export class CopyLog {
  constructor(
    readonly schema: string,
    readonly migration: string,
  ) {}

  private table(name: string): string {
    return quoteQualified(this.schema, name);
  }

  async readMigration(client: Client): Promise<MigrationRecord | undefined> {
    const { rows } = await client.query(
      `SELECT slot, publication, consistent_lsn::text AS lsn, copy_finished_at::text AS finished,
              consistent_after::text AS after
         FROM ${this.table('migrations')} WHERE migration = $1`,
      [this.migration],
    );
    const row = rows[0];
    return row
      ? {
          slot: row.slot,
          publication: row.publication,
          consistentLsn: row.lsn,
          copyFinishedAt: row.finished,
          consistentAfter: row.after,
        }
      : undefined;
  }

  /**
   * Record the run and the slot's consistent point; the applied position starts there, in the same
   * transaction, so that streaming into this database resumes exactly after the copied snapshot.
   */
  async recordMigration(
    client: Client,
    record: Omit<MigrationRecord, 'copyFinishedAt' | 'consistentAfter'>,
  ): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO ${this.table('migrations')} (migration, slot, publication, consistent_lsn)
         VALUES ($1, $2, $3, $4::pg_lsn)`,
        [this.migration, record.slot, record.publication, record.consistentLsn],
      );
      await client.query(
        `INSERT INTO ${this.table('apply_position')} (migration, lsn) VALUES ($1, $2::pg_lsn)`,
        [this.migration, record.consistentLsn],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /**
   * carve copy is about to create the migration's slot in monolith database `database`, whose WAL
   * is at `lsn`: the slot it creates starts at or after it (see decideMode). Written before the
   * slot, so that a copy killed before recordMigration still knows the slot as its own.
   */
  async claimSlot(client: Client, claim: SlotClaim): Promise<void> {
    await client.query(
      `INSERT INTO ${this.table('slot_claims')} (migration, slot, database, claimed_lsn)
       VALUES ($1, $2, $3, $4::pg_lsn)
       ON CONFLICT (migration) DO UPDATE SET slot = excluded.slot, database = excluded.database,
         claimed_lsn = excluded.claimed_lsn, claimed_at = now()`,
      [this.migration, claim.slot, claim.database, claim.claimedLsn],
    );
  }

  /** The claim of claimSlot, if this database has one (undefined too before state version 11). */
  async readSlotClaim(client: Client): Promise<SlotClaim | undefined> {
    const present = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
      this.table('slot_claims'),
    ]);
    if (!present.rows[0].present) return undefined;
    const { rows } = await client.query(
      `SELECT slot, database, claimed_lsn::text AS lsn FROM ${this.table('slot_claims')} WHERE migration = $1`,
      [this.migration],
    );
    return rows[0] ? { slot: rows[0].slot, database: rows[0].database, claimedLsn: rows[0].lsn } : undefined;
  }

  /**
   * Chunks of this database are about to be loaded under a snapshot taken at `lsn`, later than the
   * slot's consistent point: remember the latest such point (written before any of those rows).
   */
  async recordLaterSnapshot(client: Client, lsn: string): Promise<void> {
    await client.query(
      `UPDATE ${this.table('migrations')} SET consistent_after = greatest(consistent_after, $2::pg_lsn) WHERE migration = $1`,
      [this.migration, lsn],
    );
  }

  async markCopyFinished(client: Client): Promise<void> {
    await client.query(
      `UPDATE ${this.table('migrations')} SET copy_finished_at = coalesce(copy_finished_at, now()) WHERE migration = $1`,
      [this.migration],
    );
  }

  /** Store a route's chunk plan. Called once per route; a route that already has a plan keeps it. */
  async planRoute(client: Client, routeId: string, chunks: PlannedChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const values: unknown[] = [];
    const tuples = chunks.map((chunk, i) => {
      values.push(
        this.migration,
        routeId,
        chunk.chunkNo,
        chunk.source.schema,
        chunk.source.name,
        chunk.method,
        chunk.lower,
        chunk.upper,
        Math.round(chunk.estimatedBytes),
      );
      const b = i * 9;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9})`;
    });
    await client.query(
      `INSERT INTO ${this.table('copy_chunks')}
         (migration, route_id, chunk_no, source_schema, source_table, method, lower_bound, upper_bound, estimated_bytes)
       VALUES ${tuples.join(', ')}
       ON CONFLICT DO NOTHING`,
      values,
    );
  }

  async chunks(client: Client): Promise<ChunkRecord[]> {
    const { rows } = await client.query(
      `SELECT route_id, chunk_no, source_schema, source_table, method, lower_bound, upper_bound, estimated_bytes,
              status, rows, bytes, attempts, error, sqlstate
         FROM ${this.table('copy_chunks')} WHERE migration = $1 ORDER BY route_id, chunk_no`,
      [this.migration],
    );
    return rows.map((r) => ({
      routeId: r.route_id,
      chunkNo: r.chunk_no,
      source: { schema: r.source_schema, name: r.source_table },
      method: r.method,
      lower: r.lower_bound,
      upper: r.upper_bound,
      estimatedBytes: Number(r.estimated_bytes),
      status: r.status,
      rows: r.rows === null ? null : Number(r.rows),
      bytes: r.bytes === null ? null : Number(r.bytes),
      attempts: r.attempts,
      error: r.error,
      sqlstate: r.sqlstate,
    }));
  }

  /**
   * First statement of the chunk's own transaction: claim the chunk. The row lock makes a second
   * claimer wait for this transaction, then see 'done'. Returns false when the chunk is already done
   * (by another worker or an earlier run) — the caller must roll back and skip it.
   */
  async claimInTransaction(
    client: Client,
    routeId: string,
    chunkNo: number,
    snapshot: string,
  ): Promise<boolean> {
    const result = await client.query(
      `UPDATE ${this.table('copy_chunks')}
          SET status = 'done', snapshot = $4, started_at = clock_timestamp(), attempts = attempts + 1,
              error = NULL, sqlstate = NULL
        WHERE migration = $1 AND route_id = $2 AND chunk_no = $3 AND status <> 'done'`,
      [this.migration, routeId, chunkNo, snapshot],
    );
    return result.rowCount === 1;
  }

  /** Last statement of the chunk's transaction, after its rows: what was loaded. */
  async recordLoadedInTransaction(
    client: Client,
    routeId: string,
    chunkNo: number,
    rows: number,
    bytes: number,
  ): Promise<void> {
    await client.query(
      `UPDATE ${this.table('copy_chunks')} SET rows = $4, bytes = $5, finished_at = clock_timestamp()
        WHERE migration = $1 AND route_id = $2 AND chunk_no = $3`,
      [this.migration, routeId, chunkNo, rows, bytes],
    );
  }

  /** Outside any transaction (the chunk's own was rolled back): record why it failed. */
  async markFailed(
    client: Client,
    routeId: string,
    chunkNo: number,
    error: string,
    sqlstate?: string,
  ): Promise<void> {
    await client.query(
      `UPDATE ${this.table('copy_chunks')}
          SET status = 'failed', error = $4, sqlstate = $5, attempts = attempts + 1, finished_at = clock_timestamp()
        WHERE migration = $1 AND route_id = $2 AND chunk_no = $3 AND status <> 'done'`,
      [this.migration, routeId, chunkNo, error, sqlstate ?? null],
    );
  }

  /**
   * Start a route over: empty its target table and mark every chunk pending, atomically.
   * Used when block-range (ctid) chunks must be recopied under a new snapshot, because rows move
   * between blocks when they are updated and a partial table could otherwise hold a row twice.
   */
  async restartRoute(client: Client, routeId: string, target: TableRef): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query(`TRUNCATE ${quoteQualified(target.schema, target.name)}`);
      await client.query(
        `UPDATE ${this.table('copy_chunks')} SET status = 'pending', rows = NULL, bytes = NULL, finished_at = NULL
          WHERE migration = $1 AND route_id = $2`,
        [this.migration, routeId],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
}
