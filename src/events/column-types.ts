import type { TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { EventColumnType } from './column-codec.js';

export interface PublishedColumnType {
  type: EventColumnType;
  notNull: boolean;
}

/**
 * Column types of published tables as the envelope needs them: domains resolved to their base
 * type (with its type modifier: a numeric(12,2) domain publishes as Decimal scale 2, as Debezium
 * does), enum labels, array element types. Keyed `schema.table` → column name.
 */
export async function readColumnTypes(
  client: Client,
  tables: readonly TableRef[],
): Promise<Map<string, Map<string, PublishedColumnType>>> {
  const result = await client.query<{
    schema: string;
    table: string;
    column: string;
    not_null: boolean;
    base: string;
    labels: string[] | null;
    element_base: string | null;
    element_labels: string[] | null;
  }>(
    `WITH RECURSIVE col AS (
       SELECT n.nspname AS schema, c.relname AS "table", a.attname AS "column", a.attnum, a.attnotnull,
              a.atttypid AS oid, a.atttypmod AS mod, 0 AS depth
         FROM pg_catalog.pg_attribute a
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.oid = ANY($1::pg_catalog.regclass[])
       UNION ALL
       SELECT col.schema, col."table", col."column", col.attnum, col.attnotnull, t.typbasetype, t.typtypmod, col.depth + 1
         FROM col JOIN pg_catalog.pg_type t ON t.oid = col.oid
        WHERE t.typtype = 'd'
     )
     SELECT DISTINCT ON (col.schema, col."table", col.attnum)
            col.schema, col."table", col."column", col.attnotnull AS not_null,
            pg_catalog.format_type(col.oid, col.mod) AS base,
            (SELECT pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = col.oid) AS labels,
            CASE WHEN t.typcategory = 'A' THEN pg_catalog.format_type(t.typelem, col.mod) END AS element_base,
            (SELECT pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.typelem) AS element_labels
       FROM col JOIN pg_catalog.pg_type t ON t.oid = col.oid
      ORDER BY col.schema, col."table", col.attnum, col.depth DESC`,
    [tables.map((t) => quoteQualified(t.schema, t.name))],
  );
  const out = new Map<string, Map<string, PublishedColumnType>>();
  for (const row of result.rows) {
    const key = `${row.schema}.${row.table}`;
    if (!out.has(key)) out.set(key, new Map());
    const type: EventColumnType = {
      base: row.base,
      ...(row.labels ? { enumLabels: row.labels } : {}),
      ...(row.element_base
        ? {
            element: {
              base: row.element_base,
              ...(row.element_labels ? { enumLabels: row.element_labels } : {}),
            },
          }
        : {}),
    };
    out.get(key)!.set(row.column, { type, notNull: row.not_null });
  }
  return out;
}
