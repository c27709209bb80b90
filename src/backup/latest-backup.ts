import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing } from '../routing/model.js';
import type { BackupRecord } from './events.js';

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
