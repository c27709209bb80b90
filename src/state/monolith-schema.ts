import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { AdvisoryLock } from './advisory-locks.js';

/**
 * carve's own objects on the monolith, in a schema named like the targets' state schema
 * (routing.names.stateSchema; the plan's table checks skip it). Created only by cutover, which
 * must record on the monolith what it changed there (invariant 4: every change reversible and
 * recorded): numbered migrations as in state-schema.ts, recorded in `<schema>.monolith_schema`.
 *
 * - freezes:       one row per monolith table whose writes carve froze at a cutover: the service
 *                  it moved to, when, and the drain LSN read under the freeze's locks. Rollback and
 *                  cancel remove the rows with the triggers; complete keeps them (the tables stay
 *                  frozen).
 * - frozen_write(): the trigger function of the freeze (src/cutover/freeze.ts): raises
 *                  FROZEN_SQLSTATE with the message and hint the trigger passes.
 */
export interface MonolithMigration {
  version: number;
  description: string;
  statements: (name: (object: string) => string) => string[];
}

/** The SQLSTATE a write to a frozen table fails with (documented in docs/cutover.md). */
export const FROZEN_SQLSTATE = 'CV001';

/** The name of the trigger function, in the state schema of either side. */
export const FROZEN_FUNCTION = 'frozen_write';

/**
 * The trigger function: statement-level, so one raise per statement, never per row. Its
 * search_path is pinned: it calls nothing, but a function that a trigger runs for every writer
 * must not resolve names through theirs.
 */
export function frozenFunctionSql(name: (object: string) => string): string {
  return `CREATE OR REPLACE FUNCTION ${name(FROZEN_FUNCTION)}() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $carve$
    BEGIN
      RAISE EXCEPTION USING ERRCODE = '${FROZEN_SQLSTATE}', MESSAGE = TG_ARGV[0], HINT = TG_ARGV[1];
    END
    $carve$`;
}

export const MONOLITH_MIGRATIONS: readonly MonolithMigration[] = [
  {
    version: 1,
    description: 'freezes and the freeze trigger function',
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

export const MONOLITH_SCHEMA_VERSION = MONOLITH_MIGRATIONS.at(-1)!.version;

const VERSION_TABLE = 'monolith_schema';

export async function monolithSchemaVersion(client: Client, schema: string): Promise<number> {
  const table = quoteQualified(schema, VERSION_TABLE);
  const { rows } = await client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present', [table]);
  if (!rows[0].present) return 0;
  const version = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${table}`);
  return Number(version.rows[0].version);
}

/**
 * The statements that bring a monolith without carve's schema to the current version (for
 * `--dry-run`, which shows them instead of running them).
 */
export function monolithSchemaStatements(schema: string, from: number): string[] {
  const t = (name: string) => quoteQualified(schema, name);
  const out =
    from === 0
      ? [
          `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
          `CREATE TABLE IF NOT EXISTS ${t(VERSION_TABLE)} (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        ]
      : [];
  for (const migration of MONOLITH_MIGRATIONS)
    if (migration.version > from) out.push(...migration.statements(t));
  return out;
}

/**
 * Bring carve's schema on the monolith to MONOLITH_SCHEMA_VERSION (one transaction, under an
 * advisory lock; a monolith already there reads one row). Returns the version.
 */
export async function ensureMonolithSchema(client: Client, schema: string): Promise<number> {
  if ((await monolithSchemaVersion(client, schema)) === MONOLITH_SCHEMA_VERSION)
    return MONOLITH_SCHEMA_VERSION;
  const table = (name: string) => quoteQualified(schema, name);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [AdvisoryLock.monolithSchema.toString()]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table(VERSION_TABLE)} (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const current = await monolithSchemaVersion(client, schema);
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
