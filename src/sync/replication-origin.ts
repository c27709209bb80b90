import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';

/** fwd: monolith → service databases; rev: a service database → the monolith (after cutover). */
export type OriginDirection = 'fwd' | 'rev';

/**
 * The replication origin a carve applier writes under: `carve_<migration>_<direction>_<database>`,
 * where `database` is the database the stream comes from or goes to on the service side.
 *
 * Why per database and not one per (migration, direction): origins live in a server-wide catalog,
 * and one origin can be set up by only one session at a time. Several service databases of one
 * migration often share a server, each with its own applier session, so each needs its own origin;
 * the database name makes it unique on the server (database names are). A stream reading a service
 * database tells carve's writes by `replicationOriginName(migration, 'fwd', thatDatabase)`.
 */
export function replicationOriginName(
  migration: string,
  direction: OriginDirection,
  database: string,
): string {
  return `carve_${migration}_${direction}_${database}`;
}

/**
 * The forward stream's loop-prevention rule (docs/reverse.md): a monolith transaction that carve's
 * reverse stream wrote from service database D (origin `carve_<migration>_rev_<D>`) must not go
 * back to D's routes; every other route (projections elsewhere) still gets it.
 */
export function writtenByReverseStreamOf(
  migration: string,
): (origin: { name: string }, route: { database: string }) => boolean {
  return (origin, route) => origin.name === replicationOriginName(migration, 'rev', route.database);
}

/** Functions a non-superuser applier needs EXECUTE on (PostgreSQL revokes them from PUBLIC). */
export const ORIGIN_FUNCTIONS = [
  'pg_replication_origin_create(text)',
  'pg_replication_origin_session_setup(text)',
  'pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone)',
] as const;

export interface OriginSetupOptions {
  /** For errors: the database this session writes to. */
  database: string;
  /** How long to wait for an earlier session (a previous run's backend still exiting) to let go. */
  waitMs?: number;
}

/**
 * Create the origin if missing and make every later transaction of this session carry it. The
 * position of each transaction is set with pg_replication_origin_xact_setup (SyncState's position
 * write), so the origin's remote_lsn equals the applied position.
 */
export async function setUpReplicationOrigin(
  client: Client,
  name: string,
  options: OriginSetupOptions,
): Promise<void> {
  try {
    await client.query(
      `SELECT pg_catalog.pg_replication_origin_create($1)
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = $1)`,
      [name],
    );
  } catch (error) {
    // Created concurrently by someone else: fine, it exists now.
    if (sqlStateOf(error) !== SqlState.uniqueViolation) throw originError(error, name, options.database);
  }
  const deadline = Date.now() + (options.waitMs ?? 5000);
  for (;;) {
    try {
      await client.query('SELECT pg_catalog.pg_replication_origin_session_setup($1)', [name]);
      return;
    } catch (error) {
      if (sqlStateOf(error) !== SqlState.objectInUse || Date.now() >= deadline)
        throw originError(error, name, options.database);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function originError(error: unknown, origin: string, database: string): unknown {
  const state = sqlStateOf(error);
  if (state === SqlState.insufficientPrivilege) {
    return new CarveError(
      'SYNC_ORIGIN_PRIVILEGE',
      `The applier of ${database} may not use replication origin ${origin}`,
      {
        details: { database, origin, functions: [...ORIGIN_FUNCTIONS] },
        hint: `As a superuser on that server, GRANT EXECUTE ON FUNCTION ${ORIGIN_FUNCTIONS.join(', ')} TO the role carve connects as.`,
        cause: error,
      },
    );
  }
  if (state === SqlState.objectInUse) {
    return new CarveError(
      'SYNC_ORIGIN_BUSY',
      `Replication origin ${origin} (for ${database}) is in use by another session`,
      {
        details: { database, origin },
        hint: 'A session of an earlier carve run may still be finishing a statement; sync retries. If it persists, find and stop the other session that set up this origin.',
        cause: error,
        transient: true,
      },
    );
  }
  if (state === SqlState.configurationLimitExceeded) {
    return new CarveError(
      'SYNC_ORIGIN_LIMIT',
      `The server of ${database} has no free replication origin slot for ${origin}`,
      {
        details: { database, origin },
        hint: 'Raise max_replication_slots on that server (it also bounds replication origins; one per service database there, restart needed), or drop unused origins with pg_replication_origin_drop.',
        cause: error,
      },
    );
  }
  return error;
}
