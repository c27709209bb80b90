import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';

/**
 * The runner both of carve's schemas share (the state schema in every target database, and carve's
 * schema on the monolith): numbered migrations, each recorded in a version table in the transaction
 * that applied it, under an advisory lock so that concurrent first runs do not race on the DDL.
 */
export interface SchemaMigration {
  version: number;
  description: string;
  /** The statements, given a function that quotes a table name inside the schema. */
  statements: (table: (name: string) => string) => string[];
}

export interface VersionedSchema {
  migrations: readonly SchemaMigration[];
  /** The table recording the applied versions, inside the schema. */
  versionTable: string;
  /** The advisory lock taken while migrating. */
  lock: bigint;
  /** How errors name the schema: "The state schema carve", "carve's schema carve on the monolith". */
  describe: (schema: string) => string;
}

/** The last version of a schema's migrations. */
export function latestVersion(spec: VersionedSchema): number {
  return spec.migrations.at(-1)!.version;
}

/** The version the connected database's schema is at (0: no versioned schema yet). */
export async function schemaVersion(client: Client, schema: string, spec: VersionedSchema): Promise<number> {
  const table = quoteQualified(schema, spec.versionTable);
  const { rows } = await client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present', [table]);
  if (!rows[0].present) return 0;
  const version = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${table}`);
  return Number(version.rows[0].version);
}

function versionTableSql(schema: string, spec: VersionedSchema, ifNotExists: boolean): string {
  return `CREATE TABLE ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteQualified(schema, spec.versionTable)} (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`;
}

/**
 * The statements that bring the schema from version `from` to the latest (for `--dry-run`, which
 * shows them instead of running them).
 */
export function schemaStatements(schema: string, from: number, spec: VersionedSchema): string[] {
  const table = (name: string) => quoteQualified(schema, name);
  const out = from === 0 ? [`CREATE SCHEMA ${quoteIdent(schema)}`, versionTableSql(schema, spec, false)] : [];
  for (const migration of spec.migrations)
    if (migration.version > from) out.push(...migration.statements(table));
  return out;
}

/**
 * Bring the schema to its latest version: create it, or apply the migrations it lacks, each
 * recorded with its version, all in one transaction under the advisory lock. On a database already
 * there it only reads one row and takes no lock. Returns the version it is at.
 */
export async function ensureVersionedSchema(
  client: Client,
  schema: string,
  spec: VersionedSchema,
): Promise<number> {
  const latest = latestVersion(spec);
  const seen = await schemaVersion(client, schema, spec);
  if (seen === latest) return seen;
  if (seen > latest) throw tooNew(schema, seen, spec);
  const table = (name: string) => quoteQualified(schema, name);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_catalog.pg_advisory_xact_lock($1)', [spec.lock.toString()]);
    // carve's role owns its schema (provision creates it) but may not create schemas, and CREATE
    // SCHEMA IF NOT EXISTS checks that privilege before it looks whether the schema is there.
    const { rows } = await client.query('SELECT pg_catalog.to_regnamespace($1) IS NOT NULL AS present', [
      quoteIdent(schema),
    ]);
    if (!rows[0].present) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(versionTableSql(schema, spec, true));
    const current = await schemaVersion(client, schema, spec); // another process may have been first
    if (current > latest) throw tooNew(schema, current, spec);
    for (const migration of spec.migrations) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(table)) await client.query(statement);
      await client.query(`INSERT INTO ${table(spec.versionTable)} (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return latest;
}

function tooNew(schema: string, version: number, spec: VersionedSchema): CarveError {
  const known = latestVersion(spec);
  return new CarveError(
    'STATE_SCHEMA_TOO_NEW',
    `${spec.describe(schema)} is at version ${version}; this carve knows versions up to ${known}`,
    {
      details: { schema, version, known },
      hint: 'A newer carve has worked on this migration: run that version (or newer) of carve.',
    },
  );
}
