import { atService, withSession, type Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { ensureStateSchema } from '../state/state-schema.js';

export interface BackupRecord {
  path: string;
  lsn: string;
  takenAt: string;
  tables: number;
  rows: number;
}

/**
 * Backups are recorded in every service database's state (`<state>.backups`): there is no carve
 * table on the monolith (invariant 4), and any one service database is enough for status or a
 * rollback to name the latest backup. A database not provisioned yet is skipped.
 */
export async function recordBackup(routing: Routing, record: BackupRecord): Promise<string[]> {
  const { stateSchema, migration } = routing.names;
  const recorded: string[] = [];
  for (const service of routing.services) {
    try {
      await withSession(atService(service.url), async (client) => {
        await ensureStateSchema(client, stateSchema);
        await client.query(
          `INSERT INTO ${quoteQualified(stateSchema, 'backups')} (migration, path, lsn, taken_at, tables, rows)
           VALUES ($1, $2, $3::pg_lsn, $4::timestamptz, $5, $6)
           ON CONFLICT (migration, path) DO UPDATE
             SET lsn = EXCLUDED.lsn, taken_at = EXCLUDED.taken_at, tables = EXCLUDED.tables, rows = EXCLUDED.rows`,
          [migration, record.path, record.lsn, record.takenAt, record.tables, record.rows],
        );
      });
      recorded.push(service.database);
    } catch (error) {
      if (!notProvisioned(error)) throw error;
    }
  }
  return recorded;
}

/** The latest backup any service database records (null when none). */
export async function readLatestBackup(routing: Routing): Promise<BackupRecord | null> {
  let latest: BackupRecord | null = null;
  for (const service of routing.services) {
    try {
      const found = await withSession(atService(service.url), (client) => latestBackupIn(client, routing));
      if (found && (!latest || Date.parse(found.takenAt) > Date.parse(latest.takenAt))) latest = found;
    } catch (error) {
      if (!notProvisioned(error)) throw error;
    }
  }
  return latest;
}

/** The latest backup one service database records (null when none, or no backups table yet). */
export async function latestBackupIn(client: Client, routing: Routing): Promise<BackupRecord | null> {
  const { stateSchema, migration } = routing.names;
  const table = quoteQualified(stateSchema, 'backups');
  const { rows: present } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  if (!present[0].present) return null;
  const { rows } = await client.query(
    `SELECT path, lsn::text AS lsn, taken_at::text AS taken_at, tables, rows
       FROM ${table} WHERE migration = $1 ORDER BY taken_at DESC LIMIT 1`,
    [migration],
  );
  const r = rows[0];
  return r
    ? { path: r.path, lsn: r.lsn, takenAt: r.taken_at, tables: Number(r.tables), rows: Number(r.rows) }
    : null;
}

function notProvisioned(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === SqlState.invalidCatalogName || state === SqlState.invalidAuthorizationSpecification;
}
