import { CarveError } from '../errors.js';
import { atMonolith, openSession, type Client } from '../pg/connect.js';
import { AdvisoryLock } from './advisory-locks.js';

/** The carve commands that take the migration lock. */
export type MigrationCommand = 'copy' | 'sync' | 'verify' | 'teardown' | 'cutover' | 'rollback' | 'cancel';

const COMMANDS: readonly MigrationCommand[] = [
  'copy',
  'sync',
  'verify',
  'teardown',
  'cutover',
  'rollback',
  'cancel',
];

/** Who holds a migration's lock: the backend, the engine command it runs, and its session name. */
export interface MigrationLockHolder {
  pid: number;
  /** The engine step holding the lock: `sync` also when `carve migrate` or `carve cutover` runs it. */
  command: MigrationCommand;
  /**
   * The holder session's application_name, which names the carve command the operator started
   * (`carve migrate (shop)`, `carve cutover (shop, patient) sync`); null if it has none.
   */
  application: string | null;
}

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
  command: MigrationCommand,
  options: {
    /** The lock session's name, which a refused command reports: the command the operator ran. */
    applicationName?: string;
  } = {},
): Promise<MigrationLock> {
  const client: Client = await openSession(atMonolith(sourceUrl), {
    applicationName: options.applicationName ?? `carve ${command} (${migration})`,
  });
  try {
    // The command lock (shared: waiters of the same command may hold it for a moment) is taken
    // first, so whoever holds the migration lock always holds its command's lock too.
    const { rows } = await client.query(
      `SELECT pg_try_advisory_lock_shared(hashtextextended($2, 0)) AS tagged,
              pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`,
      [AdvisoryLock.migration(migration), AdvisoryLock.command(migration, command)],
    );
    if (!rows[0].ok) {
      const holder = await lockHolder(client, migration);
      // The session name says which command holds it (carve migrate runs the sync step, so the
      // command lock alone would say "carve sync"); the command lock is the fallback.
      const who = holder
        ? `${holder.application || `carve ${holder.command}`} (backend pid ${holder.pid})`
        : 'another session';
      throw new CarveError('MIGRATION_LOCKED', `Migration "${migration}" is being worked on by ${who}`, {
        details: { migration, holder },
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

/**
 * The backend holding the migration lock and the command it runs: the command lock that the same
 * backend holds. pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low).
 */
async function lockHolder(client: Client, migration: string): Promise<MigrationLockHolder | null> {
  const { rows } = await client.query(
    `WITH keys AS (
       SELECT k.command, hashtextextended(k.key, 0) AS key
         FROM unnest($2::text[], $3::text[]) AS k(command, key)
     ), held AS (
       SELECT l.pid, l.classid, l.objid
         FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.pid <> pg_backend_pid()
     )
     SELECT main.pid, keys.command,
            (SELECT a.application_name FROM pg_stat_activity AS a WHERE a.pid = main.pid) AS application
       FROM held AS main
       JOIN held AS tag ON tag.pid = main.pid
       JOIN keys ON tag.classid = ((keys.key >> 32) & 4294967295)::oid
                AND tag.objid = (keys.key & 4294967295)::oid
      WHERE main.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
        AND main.objid = (hashtextextended($1, 0) & 4294967295)::oid
      LIMIT 1`,
    [
      AdvisoryLock.migration(migration),
      COMMANDS,
      COMMANDS.map((command) => AdvisoryLock.command(migration, command)),
    ],
  );
  const row = rows[0] as { pid: number; command: MigrationCommand; application: string | null } | undefined;
  return row ? { pid: row.pid, command: row.command, application: row.application || null } : null;
}
