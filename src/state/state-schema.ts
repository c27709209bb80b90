import type { Client } from '../pg/connect.js';
import { AdvisoryLock } from './advisory-locks.js';
import {
  ensureVersionedSchema,
  schemaVersion,
  type SchemaMigration,
  type VersionedSchema,
} from './versioned-schema.js';

/**
 * carve's own state, kept in every target database (schema `carve` by default) so that it commits
 * in the same transaction as the rows it describes, as numbered migrations. The version a database
 * is at is recorded in `<schema>.state_schema` (one row per applied migration), in the transaction
 * that applied it.
 *
 * Adding a migration (a new table for the cutover journal, a column on holds …) is one entry at the
 * end of STATE_MIGRATIONS with the next version number; never edit or renumber an entry that was
 * released. Every command that writes state calls ensureStateSchema first, which brings any
 * database up to the last version: on a database already there it only reads one row.
 *
 * Versions 1 to 5 describe the schema carve created before it was versioned (CREATE … IF NOT EXISTS
 * plus ADD COLUMN IF NOT EXISTS patches, verify's tables separately); they stay idempotent so that
 * such a database, at whichever of those shapes, upgrades in place. Later versions run exactly once
 * and need not be.
 *
 * Tables:
 * - migrations:      the run — slot, publication and the slot's consistent LSN (where streaming
 *                    starts); consistent_after: set when a resumed copy loaded rows under a later
 *                    snapshot — the database's rows agree with each other (unique keys, foreign
 *                    keys) only once the stream has been applied up to it; sync_error: why the last
 *                    sync stopped on an error (code, message, hint, database, at)
 * - copy_chunks:     the copy plan and log, one row per (route, chunk); a chunk's row turns 'done' in
 *                    the transaction that loaded its rows, so a crash never leaves a chunk half-counted
 * - apply_position:  the last source commit LSN whose changes this database holds, updated in the
 *                    same transaction as those changes; the slot is acknowledged with the minimum
 *                    across targets
 * - holds:           a request (from `carve verify`, in another process) that the applier stop just
 *                    before a given source LSN and say when it got there (or, in `error`, why it
 *                    cannot), so both sides can be read at the same point while streaming runs
 * - verify_runs:     one row per verify run: the monolith LSN it read at, when it started and finished
 * - verify_segments: the segment plan of every route of a verify run, and each segment's outcome
 * - kafka_offsets:   `carve apply --from kafka`: the next offset of carve's checkpoint topic, written
 *                    in the same transaction as the rows and apply_position
 * - cutovers:        the cutover journal, one row per service of this database: its phase
 *                    (cut-over, rolling-back, rolled-back, completed), the steps done, the drain
 *                    LSN and the times; the row's first insert is cutover's point of no return
 * - freezes:         the service's tables frozen in this database by a rollback (write triggers),
 *                    so that the application cannot write where the data is no longer authoritative
 * - backups:         `carve backup`: where each backup of the moving tables is and the monolith LSN it
 *                    corresponds to, so status and rollback can name the latest one
 */
export type StateMigration = SchemaMigration;

export const STATE_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    description: 'copy and sync state: migrations, copy_chunks, apply_position, holds',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t('migrations')} (
        migration text PRIMARY KEY,
        slot text NOT NULL,
        publication text NOT NULL,
        consistent_lsn pg_lsn NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        copy_finished_at timestamptz
      )`,
      `CREATE TABLE IF NOT EXISTS ${t('copy_chunks')} (
        migration text NOT NULL,
        route_id text NOT NULL,
        chunk_no integer NOT NULL,
        source_schema text NOT NULL,
        source_table text NOT NULL,
        method text NOT NULL CHECK (method IN ('all', 'key', 'ctid')),
        lower_bound text,
        upper_bound text,
        estimated_bytes bigint NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
        rows bigint,
        bytes bigint,
        attempts integer NOT NULL DEFAULT 0,
        snapshot text,
        started_at timestamptz,
        finished_at timestamptz,
        error text,
        sqlstate text,
        PRIMARY KEY (migration, route_id, chunk_no)
      )`,
      `CREATE TABLE IF NOT EXISTS ${t('apply_position')} (
        migration text PRIMARY KEY,
        lsn pg_lsn NOT NULL,
        commit_time timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE IF NOT EXISTS ${t('holds')} (
        migration text NOT NULL,
        hold_lsn pg_lsn NOT NULL,
        requested_by text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        reached_at timestamptz,
        PRIMARY KEY (migration, hold_lsn)
      )`,
    ],
  },
  {
    version: 2,
    description: 'migrations.consistent_after: a resumed copy is consistent only after this LSN',
    statements: (t) => [`ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS consistent_after pg_lsn`],
  },
  {
    version: 3,
    description: 'migrations.sync_error: why the last sync stopped, for carve status',
    statements: (t) => [`ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS sync_error jsonb`],
  },
  {
    version: 4,
    description: 'holds.error: why sync cannot honour a hold',
    statements: (t) => [`ALTER TABLE ${t('holds')} ADD COLUMN IF NOT EXISTS error text`],
  },
  {
    version: 5,
    description: 'verify state: verify_runs, verify_segments',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t('verify_runs')} (
        run_id text PRIMARY KEY,
        migration text NOT NULL,
        lsn pg_lsn NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        ok boolean
      )`,
      `CREATE TABLE IF NOT EXISTS ${t('verify_segments')} (
        run_id text NOT NULL,
        route_id text NOT NULL,
        segment_no integer NOT NULL,
        lower_bound text,
        upper_bound text,
        estimated_rows double precision NOT NULL DEFAULT 0,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'differs')),
        source_rows bigint,
        target_rows bigint,
        lsn pg_lsn,
        finished_at timestamptz,
        PRIMARY KEY (run_id, route_id, segment_no)
      )`,
    ],
  },
  {
    version: 6,
    description:
      'migrations.lag_seconds, lag_exact, lag_at: the lag a running sync last measured, for carve status',
    statements: (t) => [
      `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_seconds double precision`,
      `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_exact boolean`,
      `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_at timestamptz`,
    ],
  },
  {
    version: 7,
    description:
      'kafka_offsets: carve apply --from kafka stores the next checkpoint offset in the transaction of the rows',
    statements: (t) => [
      `CREATE TABLE ${t('kafka_offsets')} (
        migration text NOT NULL,
        topic text NOT NULL,
        partition int NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration, topic, partition)
      )`,
    ],
  },
  {
    version: 8,
    description: 'cutovers (the cutover journal, per service) and freezes (tables frozen by a rollback)',
    statements: (t) => [
      `CREATE TABLE ${t('cutovers')} (
        migration text NOT NULL,
        service text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('cut-over', 'rolling-back', 'rolled-back', 'completed')),
        steps text[] NOT NULL DEFAULT '{}',
        drain_lsn pg_lsn NOT NULL,
        freeze_started_at timestamptz NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now(),
        switched_at timestamptz,
        reverse_slot text,
        reverse_publication text,
        reverse_start_lsn pg_lsn,
        rollback_lsn pg_lsn,
        rollback_started_at timestamptz,
        rolled_back_at timestamptz,
        completed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration, service)
      )`,
      `CREATE TABLE ${t('freezes')} (
        migration text NOT NULL,
        service text NOT NULL,
        table_schema text NOT NULL,
        table_name text NOT NULL,
        frozen_at timestamptz NOT NULL DEFAULT now(),
        lsn pg_lsn NOT NULL,
        PRIMARY KEY (migration, table_schema, table_name)
      )`,
    ],
  },
  {
    version: 9,
    description:
      'resyncs, resync_deleted: carve resync re-copies one table at a new snapshot; sync skips its changes before it and records the keys it deletes meanwhile',
    statements: (t) => [
      `CREATE TABLE ${t('resyncs')} (
        migration text NOT NULL,
        route_id text NOT NULL,
        source_table text NOT NULL,
        snapshot_lsn pg_lsn NOT NULL,
        phase text NOT NULL CHECK (phase IN ('copying', 'done')),
        rows_copied bigint NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (migration, route_id)
      )`,
      // key NULL: the table was truncated (nothing copied from before is kept).
      `CREATE TABLE ${t('resync_deleted')} (
        migration text NOT NULL,
        route_id text NOT NULL,
        key text[],
        UNIQUE NULLS NOT DISTINCT (migration, route_id, key)
      )`,
    ],
  },
  {
    version: 10,
    description: 'backups: carve backup records each backup of the moving tables and its monolith LSN',
    statements: (t) => [
      `CREATE TABLE ${t('backups')} (
        migration text NOT NULL,
        path text NOT NULL,
        lsn pg_lsn NOT NULL,
        taken_at timestamptz NOT NULL,
        tables integer NOT NULL,
        rows bigint NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration, path)
      )`,
    ],
  },
  {
    version: 11,
    description:
      "slot claims: the monolith WAL position just before carve copy created the migration's slot, so --resume drops only a slot it made",
    statements: (t) => [
      `CREATE TABLE ${t('slot_claims')} (
        migration text PRIMARY KEY,
        slot text NOT NULL,
        database text NOT NULL,
        claimed_lsn pg_lsn NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
];

/** The version this carve brings every state schema to. */
export const STATE_SCHEMA_VERSION = STATE_MIGRATIONS.at(-1)!.version;

const STATE_SCHEMA: VersionedSchema = {
  migrations: STATE_MIGRATIONS,
  versionTable: 'state_schema',
  lock: AdvisoryLock.stateSchema,
  describe: (schema) => `The state schema ${schema}`,
};

/** The version a database's state schema is at (0: no versioned state schema yet). */
export function stateSchemaVersion(client: Client, schema: string): Promise<number> {
  return schemaVersion(client, schema, STATE_SCHEMA);
}

/**
 * Bring the state schema of the connected database to STATE_SCHEMA_VERSION: create it, or apply
 * the migrations it lacks (versioned-schema.ts). Returns the version it is at.
 */
export function ensureStateSchema(client: Client, schema: string): Promise<number> {
  return ensureVersionedSchema(client, schema, STATE_SCHEMA);
}
