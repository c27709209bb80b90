import type { TableRef } from '../catalog/model.js';
import type { Client } from './connect.js';
import { quoteIdent, quoteQualified } from './quote.js';

export interface ColumnSequence {
  column: string;
  /** Schema-qualified, quoted as regclass renders it. */
  sequence: string;
}

/**
 * Sequences that feed a table's columns: identity columns, serial columns (OWNED BY), and any
 * column default that calls nextval() on a sequence (found through pg_depend, not by parsing).
 */
export async function columnSequences(client: Client, table: TableRef): Promise<ColumnSequence[]> {
  const { rows } = await client.query(
    `WITH t AS (SELECT $1::regclass AS oid)
     SELECT a.attname AS column, d.refobjid::regclass::text AS sequence
       FROM t
       JOIN pg_attrdef ad ON ad.adrelid = t.oid
       JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                       AND d.refclassid = 'pg_class'::regclass
       JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
       JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
     UNION
     SELECT a.attname, d.objid::regclass::text
       FROM t
       JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
     ORDER BY 1, 2`,
    [quoteQualified(table.schema, table.name)],
  );
  return rows as ColumnSequence[];
}

/**
 * Move each sequence of `table` past the largest value stored in its column, so that the first
 * insert on the target after a copy (or at cutover) cannot collide. Never moves a sequence back.
 */
export async function advanceSequencesPastMax(
  client: Client,
  table: TableRef,
): Promise<{ sequence: string; value: string }[]> {
  const moved: { sequence: string; value: string }[] = [];
  for (const { column, sequence } of await columnSequences(client, table)) {
    const { rows } = await client.query(
      `SELECT setval($1::regclass, m, true)::text AS value
         FROM (SELECT max(${quoteIdent(column)})::bigint AS m FROM ${quoteQualified(table.schema, table.name)}) s,
              pg_sequences q
        WHERE m IS NOT NULL
          AND q.schemaname = (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = $1::regclass)
          AND q.sequencename = (SELECT relname FROM pg_class WHERE oid = $1::regclass)
          AND (q.last_value IS NULL OR q.last_value < m)`,
      [sequence],
    );
    if (rows[0]) moved.push({ sequence, value: rows[0].value });
  }
  return moved;
}
