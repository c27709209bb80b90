import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';

export interface ForeignKeyOrphans {
  constraint: string;
  table: string;
  columns: string[];
  references: string;
  /** Rows whose (non-null) key has no parent row. */
  orphans: number;
}

/**
 * Check every foreign key declared in `schema` (from pg_constraint, not from a list) for child
 * rows without a parent. PostgreSQL enforces declared keys, so in one database this finds
 * nothing — unless triggers were bypassed; the point is a generic check that the demo data and
 * the load generator keep every key valid, and the same query shape verify uses across databases.
 */
export async function findOrphans(client: Client, schema = 'public'): Promise<ForeignKeyOrphans[]> {
  const { rows: keys } = await client.query<{
    name: string;
    child_schema: string;
    child: string;
    parent_schema: string;
    parent: string;
    cols: string[];
    pcols: string[];
  }>(
    `SELECT c.conname AS name, cn.nspname AS child_schema, cc.relname AS child,
            pn.nspname AS parent_schema, pc.relname AS parent,
            array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
            array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS pcols
       FROM pg_constraint c
       JOIN pg_class cc ON cc.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
       JOIN pg_class pc ON pc.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.contype = 'f' AND c.conparentid = 0 AND cn.nspname = $1
      ORDER BY cc.relname, c.conname`,
    [schema],
  );
  const results: ForeignKeyOrphans[] = [];
  for (const key of keys) {
    const notNull = key.cols.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ');
    const match = key.cols
      .map((col, i) => `p.${quoteIdent(key.pcols[i]!)} = c.${quoteIdent(col)}`)
      .join(' AND ');
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${quoteQualified(key.child_schema, key.child)} AS c
        WHERE ${notNull}
          AND NOT EXISTS (SELECT 1 FROM ${quoteQualified(key.parent_schema, key.parent)} AS p WHERE ${match})`,
    );
    results.push({
      constraint: key.name,
      table: key.child,
      columns: key.cols,
      references: key.parent,
      orphans: Number(rows[0]!.n),
    });
  }
  return results;
}
