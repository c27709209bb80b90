import { atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { ensureStateSchema } from '../state/state-schema.js';
import type { BackupRecord } from './events.js';
import { latestBackupIn } from './latest-backup.js';

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

function notProvisioned(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === SqlState.invalidCatalogName || state === SqlState.invalidAuthorizationSpecification;
}
