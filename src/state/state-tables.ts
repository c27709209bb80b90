import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';

/**
 * carve's own state, kept in every target database (schema `carve` by default) so that it commits
 * in the same transaction as the rows it describes:
 *
 * - migrations:     the run — slot, publication and the slot's consistent LSN (where streaming starts);
 *                   consistent_after: set when a resumed copy loaded rows under a later snapshot — the
 *                   database's rows agree with each other (unique keys, foreign keys) only once the
 *                   stream has been applied up to it
 * - copy_chunks:    the copy plan and log, one row per (route, chunk); a chunk's row turns 'done' in
 *                   the transaction that loaded its rows, so a crash never leaves a chunk half-counted
 * - apply_position: the last source commit LSN whose changes this database holds, updated in the
 *                   same transaction as those changes; the slot is acknowledged with the minimum
 *                   across targets
 * - holds:          a request (from `carve verify`, in another process) that the applier stop just
 *                   before a given source LSN and say when it got there, so both sides can be read
 *                   at the same point while streaming runs
 */
export function stateTablesDdl(schema: string): string[] {
  const t = (name: string) => quoteQualified(schema, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
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
    `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS consistent_after pg_lsn`,
    // Why the last sync stopped on an error (code, message, hint, database, at); cleared by the next start.
    `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS sync_error jsonb`,
    // The lag a running sync last measured here (see src/sync/lag-seconds.ts), for carve status.
    `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_seconds double precision`,
    `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_exact boolean`,
    `ALTER TABLE ${t('migrations')} ADD COLUMN IF NOT EXISTS lag_at timestamptz`,
    // Set by sync when it cannot honour a hold (it had already applied a transaction at or after hold_lsn).
    `ALTER TABLE ${t('holds')} ADD COLUMN IF NOT EXISTS error text`,
  ];
}

export async function ensureStateTables(client: Client, schema: string): Promise<void> {
  // Concurrent first runs could race on CREATE … IF NOT EXISTS; a transaction-scoped advisory lock
  // serialises them (the key is arbitrary but fixed).
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(7061003)');
    for (const statement of stateTablesDdl(schema)) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
