import type { Client } from '../pg/connect.js';
import { AdvisoryLock } from './advisory-locks.js';
import { frozenFunctionSql } from './frozen-write.js';
import {
  ensureVersionedSchema,
  schemaStatements,
  schemaVersion,
  type SchemaMigration,
  type VersionedSchema,
} from './versioned-schema.js';

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
export type MonolithMigration = SchemaMigration;

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

const MONOLITH_SCHEMA: VersionedSchema = {
  migrations: MONOLITH_MIGRATIONS,
  versionTable: 'monolith_schema',
  lock: AdvisoryLock.monolithSchema,
  describe: (schema) => `carve's schema ${schema} on the monolith`,
};

/** The version carve's schema on the monolith is at (0: none yet). */
export function monolithSchemaVersion(client: Client, schema: string): Promise<number> {
  return schemaVersion(client, schema, MONOLITH_SCHEMA);
}

/**
 * The statements that bring carve's schema on the monolith from version `from` to the current one
 * (for `--dry-run`, which shows them instead of running them).
 */
export function monolithSchemaStatements(schema: string, from: number): string[] {
  return schemaStatements(schema, from, MONOLITH_SCHEMA);
}

/**
 * Bring carve's schema on the monolith to MONOLITH_SCHEMA_VERSION (create it, or apply the
 * migrations it lacks: versioned-schema.ts). On a monolith already there it only reads one row.
 */
export function ensureMonolithSchema(client: Client, schema: string): Promise<number> {
  return ensureVersionedSchema(client, schema, MONOLITH_SCHEMA);
}
