import { CarveError } from '../errors.js';
import { atMonolith, atService, redactUrl, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { CopyLog, type MigrationRecord, type SlotClaim } from '../state/copy-log.js';
import { assertNoForeignObjects } from '../sync/target-guard.js';
import { mapLimited } from '../concurrency.js';

export interface TargetState {
  service: ServiceRoute;
  /** The run recorded in this database, if any. */
  migration: MigrationRecord | undefined;
  /** Target tables (route ids) that already hold rows. */
  nonEmpty: string[];
  /** The slot a copy of this migration was about to create (state-schema slot_claims). */
  slotClaim: SlotClaim | undefined;
}

/** The monolith must be able to feed a logical slot; checked before anything is written. */
export async function checkSource(sourceUrl: string): Promise<void> {
  await withSession(atMonolith(sourceUrl), async (client) => {
    const { rows } = await client.query(
      `SELECT current_setting('wal_level') AS wal_level,
              (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user) AS can_replicate,
              current_setting('max_replication_slots')::int
                - (SELECT count(*) FROM pg_replication_slots)::int AS free_slots,
              current_setting('server_encoding') AS encoding, current_database() AS database`,
    );
    const row = rows[0];
    if (row.encoding !== 'UTF8') throw encodingUnsupported(row.database, row.encoding);
    if (row.wal_level !== 'logical') {
      throw new CarveError(
        'SOURCE_WAL_LEVEL',
        `The monolith runs with wal_level = ${row.wal_level}; carve needs logical`,
        {
          details: { walLevel: row.wal_level },
          hint: 'Run ALTER SYSTEM SET wal_level = logical; on the monolith and restart it, then run carve again.',
        },
      );
    }
    if (!row.can_replicate) {
      throw new CarveError(
        'SOURCE_NO_REPLICATION',
        'The monolith user has neither REPLICATION nor SUPERUSER',
        {
          hint: 'ALTER ROLE <the user in the plan source URL> REPLICATION; (and grant it SELECT on the moving tables).',
        },
      );
    }
  });
}

/**
 * The stream (pgoutput) is decoded as UTF-8: a monolith in another encoding is refused before the
 * copy rather than when streaming starts. Its data can move to a UTF8 database first.
 */
function encodingUnsupported(database: string, encoding: string): CarveError {
  const utf8 = `${database}_utf8`;
  return new CarveError(
    'REPLICATION_ENCODING_UNSUPPORTED',
    `The monolith database ${database} is encoded in ${encoding}; carve streams changes from UTF8 databases only`,
    {
      details: { database, encoding },
      hint:
        `Move it into a UTF8 database on the same server: createdb --encoding UTF8 --template template0 ${utf8}, ` +
        `then pg_dump ${database} | psql --set ON_ERROR_STOP=1 ${utf8} (it stops at bytes that are not UTF-8: fix those rows first), ` +
        `point the plan's source at ${utf8} and run the command again.`,
    },
  );
}

/**
 * Every target database reachable, every target table provisioned, and what carve already
 * recorded there. Reads only.
 */
export async function readTargetStates(routing: Routing): Promise<TargetState[]> {
  // One connection per database, a few databases at a time: each check is a round trip per table.
  return mapLimited(routing.services, TARGET_CHECKS_IN_FLIGHT, async (service) => {
    const log = new CopyLog(routing.names.stateSchema, routing.names.migration);
    try {
      return await withSession(atService(service.url), async (client) => {
        const missing: string[] = [];
        const nonEmpty: string[] = [];
        for (const route of service.tables) {
          const name = quoteQualified(route.target.schema, route.target.name);
          const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
          if (!rows[0].present) missing.push(`${route.target.schema}.${route.target.name}`);
        }
        if (missing.length) {
          throw new CarveError(
            'TARGET_NOT_PROVISIONED',
            `${service.database} lacks ${missing.length} table(s): ${missing.join(', ')}`,
            {
              details: { database: service.database, tables: missing },
              hint: 'Run `carve provision --plan <file>` first.',
            },
          );
        }
        // Before the first read of a target table: nothing planted there may run.
        await assertNoForeignObjects(client, service, routing.names.stateSchema, 'copy');
        for (const route of service.tables) {
          const name = quoteQualified(route.target.schema, route.target.name);
          const probe = await client.query(`SELECT EXISTS (SELECT 1 FROM ONLY ${name}) AS has_rows`);
          if (probe.rows[0].has_rows) nonEmpty.push(route.id);
        }
        const stateTable = quoteQualified(routing.names.stateSchema, 'migrations');
        const hasState = (await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [stateTable]))
          .rows[0].present;
        const migration = hasState ? await log.readMigration(client) : undefined;
        const slotClaim = hasState ? await log.readSlotClaim(client) : undefined;
        return { service, migration, nonEmpty, slotClaim };
      });
    } catch (error) {
      if (sqlStateOf(error) === SqlState.invalidCatalogName) {
        throw new CarveError(
          'TARGET_NOT_PROVISIONED',
          `Database ${service.database} does not exist on ${redactUrl(service.url)}`,
          {
            details: { database: service.database },
            hint: 'Run `carve provision --plan <file>` first.',
            cause: error,
          },
        );
      }
      throw error;
    }
  });
}

const TARGET_CHECKS_IN_FLIGHT = 8;
