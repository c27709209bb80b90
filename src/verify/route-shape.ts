import type { TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { TableRoute } from '../routing/model.js';
import { hashMethod, isIntegerType, type HashMethod } from './column-hash.js';

/** A column as one database has it (read with search_path = pg_catalog: type names are qualified). */
export interface SideColumn {
  name: string;
  /** format_type, schema-qualified where it is not a pg_catalog type. */
  type: string;
  typeOid: number;
  notNull: boolean;
}

export interface ComparedColumn {
  source: string;
  target: string;
  sourceType: string;
  targetType: string;
  method: HashMethod;
  /** NOT NULL on both sides (no NULL handling needed in the hash). */
  notNull: boolean;
  generated: boolean;
}

/** Everything the SQL builders need about one route, for both sides. Pure data. */
export interface RouteShape {
  routeId: string;
  database: string;
  source: TableRef;
  /** Read the source with ONLY (plain tables: inheritance children are tables of their own). */
  sourceOnly: boolean;
  target: TableRef;
  /** In target column order. */
  columns: ComparedColumn[];
  /** Positions in `columns` of the key columns, in key order. */
  key: number[];
  /** ranges: a single integer key (index range scans); hash: any other key. */
  keyClass: 'ranges' | 'hash';
}

/** Read a table's live columns. Returns undefined when the table does not exist. */
export async function readSideColumns(
  client: Client,
  table: TableRef,
): Promise<Map<string, SideColumn> | undefined> {
  const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
    quoteQualified(table.schema, table.name),
  ]);
  if (!exists.rows[0].present) return undefined;
  const { rows } = await client.query(
    `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.atttypid::int AS type_oid, a.attnotnull AS not_null
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [quoteQualified(table.schema, table.name)],
  );
  return new Map(
    rows.map((r) => [
      r.name as string,
      { name: r.name, type: r.type, typeOid: r.type_oid, notNull: r.not_null },
    ]),
  );
}

/**
 * A service table missing, or missing a column, after the copy (dropped or altered by hand):
 * provision refuses a table of another shape (PROVISION_CONFLICT) and copy does not copy again, so
 * the fix is resync, which re-creates the table at the monolith's shape and copies it online.
 */
export function recreateHint(route: TableRoute): string {
  return `Re-create it from the monolith: carve resync --plan <file> --table ${route.source.schema}.${route.source.name}, then verify again.`;
}

/**
 * Match a route's columns to what both databases actually have. A missing table or column is an
 * operator problem (not provisioned, or the schema changed): VERIFY_TABLE_MISSING / VERIFY_COLUMN_MISSING.
 */
export function buildRouteShape(
  route: TableRoute,
  sourceColumns: Map<string, SideColumn> | undefined,
  targetColumns: Map<string, SideColumn> | undefined,
): RouteShape {
  const where = { routeId: route.id, database: route.database };
  if (!sourceColumns) {
    throw new CarveError(
      'VERIFY_TABLE_MISSING',
      `Monolith table ${route.source.schema}.${route.source.name} does not exist`,
      {
        details: { ...where, side: 'source', table: route.source },
        hint: 'The monolith changed since the plan was checked; run carve plan again.',
      },
    );
  }
  if (!targetColumns) {
    throw new CarveError(
      'VERIFY_TABLE_MISSING',
      `Table ${route.target.schema}.${route.target.name} does not exist in ${route.database}`,
      {
        details: { ...where, side: 'target', table: route.target },
        hint: recreateHint(route),
      },
    );
  }
  const columns = route.columns.map((c): ComparedColumn => {
    const s = sourceColumns.get(c.source);
    const t = targetColumns.get(c.target);
    if (!s || !t) {
      const side = s ? 'target' : 'source';
      const table = s ? route.target : route.source;
      throw new CarveError(
        'VERIFY_COLUMN_MISSING',
        `Column ${s ? c.target : c.source} of ${table.schema}.${table.name} (${side}) does not exist`,
        {
          details: { ...where, side, table, column: s ? c.target : c.source },
          hint: s
            ? recreateHint(route)
            : 'The monolith changed since the plan was checked; run carve plan again and update the plan.',
        },
      );
    }
    return {
      source: c.source,
      target: c.target,
      sourceType: s.type,
      targetType: t.type,
      method: hashMethod(s.typeOid, t.typeOid),
      notNull: s.notNull && t.notNull,
      generated: c.generated,
    };
  });
  const key = route.key.map((k) => {
    const i = columns.findIndex((c) => c.source === k);
    if (i < 0) {
      throw new CarveError('VERIFY_KEY_NOT_ROUTED', `Route ${route.id} does not carry key column ${k}`, {
        details: { ...where, column: k },
        hint: 'A projection must include the key of its source table; add it to the projection columns.',
      });
    }
    return i;
  });
  const only = key.length === 1 ? sourceColumns.get(columns[key[0]!]!.source) : undefined;
  const targetKey = key.length === 1 ? targetColumns.get(columns[key[0]!]!.target) : undefined;
  const ranges =
    only !== undefined &&
    targetKey !== undefined &&
    isIntegerType(only.typeOid) &&
    isIntegerType(targetKey.typeOid);
  return {
    routeId: route.id,
    database: route.database,
    source: route.source,
    sourceOnly: route.sourceTable.kind !== 'partitioned',
    target: route.target,
    columns,
    key,
    keyClass: ranges ? 'ranges' : 'hash',
  };
}

/** Key column names on one side, in key order. */
export function keyNames(shape: RouteShape, side: 'source' | 'target'): string[] {
  return shape.key.map((i) => shape.columns[i]![side]);
}
