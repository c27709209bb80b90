import type { Client } from '../../pg/connect.js';
import { quoteIdent, quoteQualified } from '../../pg/quote.js';

/**
 * Move every identity / serial sequence of the given tables past the largest key, so that inserts
 * that let the database pick the id (the load generator, the application) work after a seed that
 * wrote explicit ids. Empty tables get their sequence reset to start at 1.
 */
export async function advanceSequences(
  client: Client,
  schema: string,
  tables: readonly string[],
): Promise<number> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT s.oid::bigint::text AS seq, c.relname AS tbl, a.attname AS col
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class c ON c.oid = d.refobjid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
        AND d.deptype IN ('a', 'i') AND c.relnamespace = $1::regnamespace AND c.relname = ANY($2::text[])
      ORDER BY c.relname, a.attname`,
    [schema, [...tables]],
  );
  for (const { seq, tbl, col } of rows) {
    await client.query(
      `SELECT setval($1::oid::regclass, coalesce(max(${quoteIdent(col)}), 1), max(${quoteIdent(col)}) IS NOT NULL)
         FROM ${quoteQualified(schema, tbl)}`,
      [seq],
    );
  }
  return rows.length;
}
