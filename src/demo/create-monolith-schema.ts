import type { Client } from '../pg/connect.js';
import { inTransaction } from '../pg/connect.js';
import { CarveError } from '../errors.js';
import { CARESYNC_SCHEMA, CARESYNC_TABLES } from './caresync-tables.js';
import { analyticsPartitions } from './date-range.js';
import { monolithDdl } from './schema/monolith-ddl.js';
import { CARESYNC_TYPES } from './schema/types.js';

export interface CreateSchemaResult {
  tables: number;
  partitions: number;
  statements: number;
}

/**
 * Create the CareSync monolith (58 tables, its types, indexes and foreign keys) in schema
 * `public` of the connected database, in one transaction. Refuses, before creating anything,
 * when any CareSync table or type is already there: the demo never touches existing data.
 */
export async function createMonolithSchema(client: Client): Promise<CreateSchemaResult> {
  const statements = monolithDdl();
  await inTransaction(client, async () => {
    await assertAbsent(client);
    // Statements name objects unqualified; pin them to public for this transaction only.
    await client.query(`SELECT set_config('search_path', $1, true)`, [CARESYNC_SCHEMA]);
    for (const sql of statements) await client.query(sql);
  });
  return {
    tables: CARESYNC_TABLES.length,
    partitions: analyticsPartitions().length,
    statements: statements.length,
  };
}

async function assertAbsent(client: Client): Promise<void> {
  const relations = [...CARESYNC_TABLES.map((t) => t.name), ...analyticsPartitions().map((p) => p.name)];
  const { rows } = await client.query<{ kind: string; name: string }>(
    `SELECT 'table' AS kind, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[])
     UNION ALL
     SELECT 'type', t.typname
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typname = ANY($3::text[]) AND t.typtype IN ('e', 'd')
      ORDER BY 1, 2`,
    [CARESYNC_SCHEMA, relations, [...CARESYNC_TYPES]],
  );
  if (rows.length === 0) return;
  const tables = rows.filter((r) => r.kind === 'table').map((r) => r.name);
  const types = rows.filter((r) => r.kind === 'type').map((r) => r.name);
  const named =
    tables.length > 0 ? `table ${tables.slice(0, 5).join(', ')}` : `type ${types.slice(0, 5).join(', ')}`;
  throw new CarveError(
    'DEMO_SCHEMA_EXISTS',
    `The CareSync schema already exists in ${CARESYNC_SCHEMA}: ${named}${rows.length > 5 ? ` and ${rows.length - 5} more` : ''}`,
    {
      details: { schema: CARESYNC_SCHEMA, tables, types },
      hint: 'Seed into a new, empty database (createdb caresync), or drop the existing CareSync objects first.',
    },
  );
}
