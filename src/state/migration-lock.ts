import { CarveError } from '../errors.js';
import { openSession, type Client } from '../pg/connect.js';

/**
 * One carve process at a time per migration: a session-level advisory lock on the monolith,
 * held on its own connection for the life of the command. It changes nothing in the monolith and
 * disappears with the connection, so a killed process never leaves it behind.
 */
export interface MigrationLock {
  release(): Promise<void>;
}

export async function acquireMigrationLock(
  sourceUrl: string,
  migration: string,
  command: string,
): Promise<MigrationLock> {
  const client: Client = await openSession(sourceUrl, { applicationName: `carve ${command} (${migration})` });
  try {
    const key = `carve:${migration}`;
    const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key]);
    if (!rows[0].ok) {
      // Lock holders name themselves in application_name (see connect above).
      const holder = await client.query(
        `SELECT pid, application_name FROM pg_stat_activity
          WHERE application_name LIKE 'carve %' AND application_name LIKE '%(' || $1 || ')' AND pid <> pg_backend_pid()
          LIMIT 1`,
        [migration],
      );
      const who = holder.rows[0]
        ? `${holder.rows[0].application_name} (backend pid ${holder.rows[0].pid})`
        : 'another session';
      throw new CarveError('MIGRATION_LOCKED', `Migration "${migration}" is being worked on by ${who}`, {
        details: { migration, holder: holder.rows[0] ?? null },
        hint: 'Wait for it to finish or stop it; only one carve command runs per migration at a time.',
      });
    }
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return {
    async release() {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
