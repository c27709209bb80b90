/**
 * Housekeeping and inventory queries the benches run between measured steps (never inside one).
 */
import { withClient, withDatabase } from '../../src/pg/connect.js';
import { quoteIdent, quoteQualified } from '../../src/pg/quote.js';

export async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, values)).rows as T[]);
}

/** Drop every non-template database but `postgres`, and every role but the bootstrap superuser. */
export async function emptyCluster(serverUrl: string): Promise<void> {
  await withClient(serverUrl, async (c) => {
    const dbs = await c.query<{ name: string }>(
      `SELECT datname AS name FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'`,
    );
    for (const { name } of dbs.rows) await c.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`);
    const roles = await c.query<{ name: string }>(
      `SELECT rolname AS name FROM pg_roles WHERE oid > 16383 AND rolname <> current_user`,
    );
    for (const { name } of roles.rows) await c.query(`DROP ROLE ${quoteIdent(name)}`);
  });
}

export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return withDatabase(serverUrl, name);
}

export async function checkpoint(url: string): Promise<void> {
  await withClient(url, (c) => c.query('CHECKPOINT'));
}

/** Server settings as the server reports them (SHOW), for the results. */
export async function showSettings(url: string, names: readonly string[]): Promise<Record<string, string>> {
  const rows = await query<{ name: string; setting: string }>(
    url,
    `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1) ORDER BY name`,
    [names],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

export interface LeafTable {
  schema: string;
  name: string;
  /** Heap + TOAST bytes (no indexes). */
  bytes: number;
  rows: number;
}

/**
 * Every table holding rows (leaf partitions, not their parents) outside the system schemas, with
 * exact row counts. `exclude` holds schema.table names; a partitioned parent excludes its leaves.
 */
export async function leafTables(url: string, exclude: readonly string[] = []): Promise<LeafTable[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ schema: string; name: string; root: string; bytes: string }>(
      `SELECT n.nspname AS schema, r.relname AS name,
              coalesce(pn.nspname || '.' || p.relname, n.nspname || '.' || r.relname) AS root,
              (pg_total_relation_size(r.oid) - pg_indexes_size(r.oid))::text AS bytes
         FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
         LEFT JOIN pg_class p ON p.oid = pg_partition_root(r.oid)
         LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE r.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    const tables: LeafTable[] = [];
    for (const r of rows) {
      if (exclude.includes(`${r.schema}.${r.name}`) || exclude.includes(r.root)) continue;
      const count = await c.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${quoteQualified(r.schema, r.name)}`,
      );
      tables.push({ schema: r.schema, name: r.name, bytes: Number(r.bytes), rows: Number(count.rows[0]!.n) });
    }
    return tables;
  });
}

export interface ObjectCounts {
  tables: number;
  indexes: number;
  primaryKeys: number;
  uniqueConstraints: number;
  foreignKeys: number;
  checks: number;
  /** Constraints still NOT VALID. */
  notValid: number;
}

/** What a database ended with, outside `skipSchemas` (e.g. a tool's own state schema). */
export async function objectCounts(url: string, skipSchemas: readonly string[] = []): Promise<ObjectCounts> {
  const [row] = await query<Record<string, string>>(
    url,
    `WITH s AS (SELECT oid FROM pg_namespace
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
                   AND nspname <> ALL($1))
     SELECT (SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace IN (SELECT oid FROM s)) AS tables,
            (SELECT count(*) FROM pg_class WHERE relkind IN ('i', 'I') AND relnamespace IN (SELECT oid FROM s)) AS indexes,
            (SELECT count(*) FILTER (WHERE contype = 'p') FROM pg_constraint WHERE connamespace IN (SELECT oid FROM s) AND conparentid = 0) AS pk,
            (SELECT count(*) FILTER (WHERE contype = 'u') FROM pg_constraint WHERE connamespace IN (SELECT oid FROM s) AND conparentid = 0) AS uq,
            (SELECT count(*) FILTER (WHERE contype = 'f') FROM pg_constraint WHERE connamespace IN (SELECT oid FROM s) AND conparentid = 0) AS fk,
            (SELECT count(*) FILTER (WHERE contype = 'c') FROM pg_constraint WHERE connamespace IN (SELECT oid FROM s) AND conparentid = 0) AS ck,
            (SELECT count(*) FILTER (WHERE NOT convalidated) FROM pg_constraint WHERE connamespace IN (SELECT oid FROM s)) AS nv`,
    [skipSchemas],
  );
  return {
    tables: Number(row!.tables),
    indexes: Number(row!.indexes),
    primaryKeys: Number(row!.pk),
    uniqueConstraints: Number(row!.uq),
    foreignKeys: Number(row!.fk),
    checks: Number(row!.ck),
    notValid: Number(row!.nv),
  };
}

export function addCounts(a: ObjectCounts, b: ObjectCounts): ObjectCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof ObjectCounts)[]) out[k] += b[k];
  return out;
}
