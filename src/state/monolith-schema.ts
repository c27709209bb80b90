import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { AdvisoryLock } from './advisory-locks.js';
import { frozenFunctionSql } from './frozen-write.js';

export { FROZEN_FUNCTION, FROZEN_SQLSTATE, frozenFunctionSql } from './frozen-write.js';

/**
 * carve's own tables on the monolith (schema routing.names.stateSchema, `carve` by default; the
 * planner never routes that schema), as numbered migrations like the state schema of the service
 * databases (state-schema.ts), recorded in `<schema>.monolith_schema`. Only what belongs with the
 * monolith's own rows lives here: the reverse stream's applied position commits in the same
 * transaction as the rows it wrote into the monolith.
 *
 * Tables:
 * - reverse_streams:   one row per cut-over service whose writes flow back into the monolith: the
 *                      service database, the slot and publication there and the position the slot
 *                      started at. A running `carve sync` streams every row it finds here.
 * - reverse_positions: per reverse stream, the service database's position (resume-from LSN) whose
 *                      changes the monolith holds, written in the transaction of those changes
 *                      under carve's reverse replication origin.
 * - freezes:           one row per monolith table whose writes a cutover froze (src/cutover/freeze.ts):
 *                      the service it moved to, when, and the drain LSN read under the freeze's
 *                      locks, written in the freeze's transaction (invariant 4: recorded and
 *                      reversible). Rollback and cancel remove the rows with the triggers; complete
 *                      keeps them (the tables stay frozen).
 * - frozen_write():    the freeze's trigger function: raises FROZEN_SQLSTATE with the message and
 *                      hint the trigger passes.
 */
export interface MonolithMigration {
  version: number;
  description: string;
  statements: (table: (name: string) => string) => string[];
}

export const MONOLITH_MIGRATIONS: readonly MonolithMigration[] = [
  {
    version: 1,
    description: 'reverse streams: reverse_streams (registrations), reverse_positions (applied positions)',
    statements: (t) => [
      `CREATE TABLE ${t('reverse_streams')} (
        migration text NOT NULL,
        service text NOT NULL,
        database text NOT NULL,
        slot text NOT NULL,
        publication text NOT NULL,
        start_lsn pg_lsn NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration, service)
      )`,
      `CREATE TABLE ${t('reverse_positions')} (
        migration text NOT NULL,
        service text NOT NULL,
        lsn pg_lsn NOT NULL,
        commit_time timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration, service)
      )`,
    ],
  },
  {
    version: 2,
    description: 'cutover freezes: freezes (frozen monolith tables), frozen_write() (the trigger function)',
    statements: (t) => [
      `CREATE TABLE ${t('freezes')} (
        migration text NOT NULL,
        service text NOT NULL,
        database text NOT NULL,
        table_schema text NOT NULL,
        table_name text NOT NULL,
        frozen_at timestamptz NOT NULL DEFAULT now(),
        drain_lsn pg_lsn NOT NULL,
        PRIMARY KEY (migration, table_schema, table_name)
      )`,
      frozenFunctionSql(t),
    ],
  },
];

/** The version this carve brings the monolith's carve schema to. */
export const MONOLITH_SCHEMA_VERSION = MONOLITH_MIGRATIONS.at(-1)!.version;

const VERSION_TABLE = 'monolith_schema';

/** The version the monolith's carve schema is at (0: none yet). */
export async function monolithSchemaVersion(client: Client, schema: string): Promise<number> {
  const table = quoteQualified(schema, VERSION_TABLE);
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  if (!rows[0].present) return 0;
  const version = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${table}`);
  return Number(version.rows[0].version);
}

/**
 * The statements that bring carve's schema on the monolith from version `from` to the current one
 * (for `--dry-run`, which shows them instead of running them).
 */
export function monolithSchemaStatements(schema: string, from: number): string[] {
  const t = (name: string) => quoteQualified(schema, name);
  const out =
    from === 0
      ? [
          `CREATE SCHEMA ${quoteIdent(schema)}`,
          `CREATE TABLE ${t(VERSION_TABLE)} (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        ]
      : [];
  for (const migration of MONOLITH_MIGRATIONS)
    if (migration.version > from) out.push(...migration.statements(t));
  return out;
}

/**
 * Bring carve's schema on the monolith to MONOLITH_SCHEMA_VERSION (create it, or apply the
 * migrations it lacks, each recorded with its version), in one transaction under an advisory lock.
 * On a monolith already there it only reads one row.
 */
export async function ensureMonolithSchema(client: Client, schema: string): Promise<number> {
  const seen = await monolithSchemaVersion(client, schema);
  if (seen === MONOLITH_SCHEMA_VERSION) return seen;
  if (seen > MONOLITH_SCHEMA_VERSION) throw tooNew(schema, seen);
  const table = (name: string) => quoteQualified(schema, name);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [AdvisoryLock.monolithSchema.toString()]);
    const { rows } = await client.query('SELECT pg_catalog.to_regnamespace($1) IS NOT NULL AS present', [
      quoteIdent(schema),
    ]);
    if (!rows[0].present) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table(VERSION_TABLE)} (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const current = await monolithSchemaVersion(client, schema);
    if (current > MONOLITH_SCHEMA_VERSION) throw tooNew(schema, current);
    for (const migration of MONOLITH_MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(table)) await client.query(statement);
      await client.query(`INSERT INTO ${table(VERSION_TABLE)} (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return MONOLITH_SCHEMA_VERSION;
}

function tooNew(schema: string, version: number): CarveError {
  return new CarveError(
    'STATE_SCHEMA_TOO_NEW',
    `carve's schema ${schema} on the monolith is at version ${version}; this carve knows versions up to ${MONOLITH_SCHEMA_VERSION}`,
    {
      details: { schema, version, known: MONOLITH_SCHEMA_VERSION },
      hint: 'A newer carve has worked on this migration: run that version (or newer) of carve.',
    },
  );
}
