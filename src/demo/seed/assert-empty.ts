import { CarveError } from '../../errors.js';
import type { Client } from '../../pg/connect.js';
import { quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA, CARESYNC_TABLES } from '../caresync-tables.js';

/** For seeding into a schema created earlier: every CareSync table present, and all empty. */
export async function assertEmptyMonolith(client: Client): Promise<void> {
  const names = CARESYNC_TABLES.map((t) => t.name);
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relname = ANY($2::text[])`,
    [CARESYNC_SCHEMA, names],
  );
  const present = new Set(rows.map((r) => r.relname));
  const missing = names.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new CarveError(
      'DEMO_SCHEMA_MISSING',
      `CareSync tables are missing: ${missing.slice(0, 5).join(', ')}`,
      {
        details: { tables: missing },
        hint: 'Let the seed create the schema (the default), in an empty database.',
      },
    );
  }
  const nonEmpty: string[] = [];
  for (const name of names) {
    const r = await client.query(`SELECT 1 FROM ${quoteQualified(CARESYNC_SCHEMA, name)} LIMIT 1`);
    if (r.rowCount) nonEmpty.push(name);
  }
  if (nonEmpty.length > 0) {
    throw new CarveError(
      'DEMO_SCHEMA_NOT_EMPTY',
      `CareSync tables already hold rows: ${nonEmpty.slice(0, 5).join(', ')}`,
      {
        details: { tables: nonEmpty },
        hint: 'Seed into a new, empty database.',
      },
    );
  }
}
