import type { Client } from '../pg/connect.js';
import { INVALID_LSN, formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { isoTimestampSql } from '../pg/replication/pg-time.js';
import { quoteQualified } from '../pg/quote.js';
import { SyncState, type AppliedPosition, type HoldRow } from '../sync/state.js';

/** A reverse stream as registered on the monolith (reverse_streams). */
export interface ReverseRegistration {
  service: string;
  database: string;
  slot: string;
  publication: string;
  startLsn: Lsn;
  createdAt: string;
}

/**
 * The reverse stream's reads and writes of carve's tables on the monolith
 * (src/state/monolith-schema.ts): registrations, and the applied position of each stream.
 *
 * As the state of a TargetApplier (which writes into the monolith for a reverse stream) it stands
 * in for SyncState: the position is reverse_positions' row of this service, written by the same
 * statement that marks the transaction with carve's reverse replication origin and the service
 * database's commit position (pg_replication_origin_xact_setup). Reverse streams take no holds
 * (rollback waits for a position instead: waitReverseApplied), so the hold table reads are empty.
 */
export class ReverseState extends SyncState {
  constructor(
    schema: string,
    migration: string,
    readonly service: string,
  ) {
    super(schema, migration);
  }

  private get positions(): string {
    return quoteQualified(this.schema, 'reverse_positions');
  }

  override async readPosition(client: Client): Promise<AppliedPosition> {
    const { rows } = await client.query(
      `SELECT lsn::text AS lsn, ${isoTimestampSql('commit_time')} AS commit_time, updated_at::text AS updated_at,
              extract(epoch FROM now() - commit_time)::float8 AS commit_age
         FROM ${this.positions} WHERE migration = $1 AND service = $2`,
      [this.migration, this.service],
    );
    if (!rows[0]) return { lsn: INVALID_LSN, commitTime: null, updatedAt: null, commitAgeSeconds: null };
    return {
      lsn: parseLsn(rows[0].lsn),
      commitTime: rows[0].commit_time,
      updatedAt: rows[0].updated_at,
      commitAgeSeconds: rows[0].commit_age,
    };
  }

  /** Parameters: migration, service, lsn, commit time (ISO or null: keep the last one). */
  override get writePositionSql(): string {
    const table = this.positions;
    return `UPDATE ${table}
               SET lsn = $3::pg_lsn, commit_time = coalesce($4::timestamptz, commit_time), updated_at = now()
              FROM (SELECT pg_catalog.pg_replication_origin_xact_setup($3::pg_lsn,
                             coalesce($4::timestamptz, (SELECT commit_time FROM ${table} WHERE migration = $1 AND service = $2), now()))) AS origin
             WHERE migration = $1 AND service = $2`;
  }

  override writePositionParams(lsn: Lsn, commitTime: string | null): unknown[] {
    return [this.migration, this.service, formatLsn(lsn), commitTime];
  }

  /**
   * Four result sets, as the applier expects (BEGIN, a lock in SyncState's, the holds, the
   * resyncs): no holds and no resyncs into the monolith.
   */
  override get beginApplySql(): string {
    return `BEGIN; SELECT 1; SELECT NULL::text AS migration WHERE false; SELECT NULL::text AS migration, NULL::text AS route_id, NULL::text AS lsn, NULL::text AS phase WHERE false`;
  }

  override async readHolds(): Promise<HoldRow[]> {
    return [];
  }

  override async markHoldReached(): Promise<void> {}

  override async markHoldFailed(): Promise<void> {}
}

/** Registrations and positions of every reverse stream of a migration, on the monolith. */
export class ReverseRegistry {
  constructor(
    readonly schema: string,
    readonly migration: string,
  ) {}

  private table(name: 'reverse_streams' | 'reverse_positions'): string {
    return quoteQualified(this.schema, name);
  }

  /** Register (idempotent: an existing registration and position are kept as they are). */
  async register(
    client: Client,
    registration: Omit<ReverseRegistration, 'createdAt'>,
  ): Promise<ReverseRegistration> {
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO ${this.table('reverse_streams')} (migration, service, database, slot, publication, start_lsn)
         VALUES ($1, $2, $3, $4, $5, $6::pg_lsn) ON CONFLICT (migration, service) DO NOTHING`,
        [
          this.migration,
          registration.service,
          registration.database,
          registration.slot,
          registration.publication,
          formatLsn(registration.startLsn),
        ],
      );
      await client.query(
        `INSERT INTO ${this.table('reverse_positions')} (migration, service, lsn)
         VALUES ($1, $2, $3::pg_lsn) ON CONFLICT (migration, service) DO NOTHING`,
        [this.migration, registration.service, formatLsn(registration.startLsn)],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    const found = await this.read(client, registration.service);
    return found!;
  }

  async read(client: Client, service: string): Promise<ReverseRegistration | undefined> {
    return (await this.list(client)).find((r) => r.service === service);
  }

  /** Every registration of the migration (none when carve's schema is not on the monolith yet). */
  async list(client: Client): Promise<ReverseRegistration[]> {
    const { rows: present } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
      this.table('reverse_streams'),
    ]);
    if (!present[0].present) return [];
    const { rows } = await client.query(
      `SELECT service, database, slot, publication, start_lsn::text AS start_lsn, created_at::text AS created_at
         FROM ${this.table('reverse_streams')} WHERE migration = $1 ORDER BY service`,
      [this.migration],
    );
    return rows.map((r) => ({
      service: r.service,
      database: r.database,
      slot: r.slot,
      publication: r.publication,
      startLsn: parseLsn(r.start_lsn),
      createdAt: r.created_at,
    }));
  }

  /** The applied position of a service's reverse stream (undefined when not registered). */
  async position(client: Client, service: string): Promise<AppliedPosition | undefined> {
    const { rows: present } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
      this.table('reverse_positions'),
    ]);
    if (!present[0].present) return undefined;
    const state = new ReverseState(this.schema, this.migration, service);
    const position = await state.readPosition(client);
    return position.updatedAt === null ? undefined : position;
  }

  /** Remove the registration and its position (idempotent). */
  async unregister(client: Client, service: string): Promise<boolean> {
    const { rows: present } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
      this.table('reverse_streams'),
    ]);
    if (!present[0].present) return false;
    await client.query('BEGIN');
    try {
      const removed = await client.query(
        `DELETE FROM ${this.table('reverse_streams')} WHERE migration = $1 AND service = $2`,
        [this.migration, service],
      );
      await client.query(
        `DELETE FROM ${this.table('reverse_positions')} WHERE migration = $1 AND service = $2`,
        [this.migration, service],
      );
      await client.query('COMMIT');
      return (removed.rowCount ?? 0) > 0;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
}
