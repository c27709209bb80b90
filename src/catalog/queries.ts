/**
 * The pg_catalog queries behind `introspect`. They run with search_path = '' so that every name
 * PostgreSQL renders (format_type, pg_get_expr, pg_get_*def) is schema-qualified unless it lives in
 * pg_catalog, and can be replayed verbatim in another database.
 */

/** Namespaces that hold no user objects. */
const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;

/** Objects created by CREATE EXTENSION belong to the extension, not to the application. */
function notExtensionMember(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
    WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
}

export const TABLES_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
  c.relispartition AS is_partition, c.relpersistence::text AS persistence,
  c.relreplident::text AS replident, c.reltuples::float8 AS reltuples, c.relpages::int8 AS relpages,
  CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
  CASE WHEN c.relispartition THEN (SELECT i.inhparent::int8 FROM pg_inherits i WHERE i.inhrelid = c.oid) END AS parent_oid,
  pg_total_relation_size(c.oid)::int8 AS total_bytes, pg_relation_size(c.oid)::int8 AS heap_bytes,
  CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid)::int8 ELSE 0 END AS toast_bytes,
  (SELECT ci.relname FROM pg_index x JOIN pg_class ci ON ci.oid = x.indexrelid
    WHERE x.indrelid = c.oid AND x.indisreplident) AS ri_index
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND ${USER_NAMESPACE}
  AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname`;

export const COLUMNS_SQL = `
SELECT a.attrelid::int8 AS relid, a.attname AS name, a.attnum::int AS attnum,
  format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int8 AS type_oid, a.attnotnull AS not_null,
  a.attidentity::text AS identity, a.attgenerated::text AS generated, a.attstorage::text AS storage,
  pg_get_expr(d.adbin, d.adrelid) AS expr,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
    THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation,
  un.nspname AS user_type_schema, ut.typname AS user_type_name, ut.typtype::text AS user_type_kind,
  COALESCE(
    (SELECT ARRAY[sn.nspname::text, s.relname::text] FROM pg_depend dp
       JOIN pg_class s ON s.oid = dp.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       WHERE dp.classid = 'pg_class'::regclass AND dp.refclassid = 'pg_class'::regclass
         AND dp.refobjid = a.attrelid AND dp.refobjsubid = a.attnum AND dp.deptype = 'i' LIMIT 1),
    (SELECT ARRAY[sn.nspname::text, s.relname::text] FROM pg_depend dp
       JOIN pg_class s ON s.oid = dp.refobjid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       WHERE d.oid IS NOT NULL AND dp.classid = 'pg_attrdef'::regclass AND dp.objid = d.oid
         AND dp.refclassid = 'pg_class'::regclass ORDER BY s.relname LIMIT 1)
  ) AS sequence,
  CASE WHEN a.attgenerated = 's' THEN ARRAY(
    SELECT ra.attname::text FROM pg_depend dp
      JOIN pg_attribute ra ON ra.attrelid = dp.refobjid AND ra.attnum = dp.refobjsubid
      WHERE dp.classid = 'pg_attrdef'::regclass AND dp.objid = d.oid AND dp.refclassid = 'pg_class'::regclass
        AND dp.refobjid = a.attrelid AND dp.refobjsubid > 0 AND dp.refobjsubid <> a.attnum
      ORDER BY ra.attnum) END AS depends_on
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type ut0 ON ut0.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
LEFT JOIN pg_namespace un0 ON un0.oid = ut0.typnamespace
LEFT JOIN pg_type ut ON ut.oid = ut0.oid AND un0.nspname NOT IN ('pg_catalog', 'information_schema')
  AND ${notExtensionMember('pg_type', 'ut0.oid')}
LEFT JOIN pg_namespace un ON un.oid = ut.typnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

/**
 * FKs cloned onto partitions (conparentid <> 0) are implementation details of the parent's FK.
 * Keys a partition got from its parent (conparentid <> 0) and checks it inherited without declaring
 * them itself are marked `inherited`: the parent recreates them; the rest were declared on the
 * partition and must be recreated on it.
 */
export const CONSTRAINTS_SQL = `
SELECT con.conrelid::int8 AS relid, con.conname AS name, con.contype::text AS type,
  (con.conparentid <> 0 OR (con.contype = 'c' AND NOT con.conislocal)) AS inherited,
  pg_get_constraintdef(con.oid) AS definition, con.convalidated AS validated,
  con.condeferrable AS deferrable, con.condeferred AS deferred,
  con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete, con.confmatchtype::text AS match,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
  rn.nspname AS ref_schema, rc.relname AS ref_name,
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns
FROM pg_constraint con
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'u', 'f', 'c')
  AND NOT (con.contype = 'f' AND con.conparentid <> 0)
ORDER BY con.conrelid, con.conname`;

export const INDEXES_SQL = `
SELECT x.indrelid::int8 AS relid, ci.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
  x.indisunique AS is_unique, x.indisprimary AS is_primary, ci.relispartition AS inherited,
  (SELECT con.conname FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid
     AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name,
  (x.indexprs IS NOT NULL OR x.indpred IS NOT NULL) AS expr_or_partial,
  ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
    WHERE k.ord <= x.indnkeyatts ORDER BY k.ord) AS columns,
  ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = x.indrelid AND (
      a.attnum = ANY(x.indkey::int2[])
      OR EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_class'::regclass AND dp.objid = x.indexrelid
        AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = x.indrelid AND dp.refobjsubid = a.attnum))
    AND a.attnum > 0 ORDER BY a.attnum) AS referenced,
  'CREATE ' || CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(ci.relname)
    || ' ON ' || CASE WHEN ci.relkind = 'I' THEN 'ONLY ' ELSE '' END
    || quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) || ' ' AS prefix
FROM pg_index x
JOIN pg_class ci ON ci.oid = x.indexrelid
JOIN pg_class tc ON tc.oid = x.indrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE x.indrelid = ANY($1::oid[])
ORDER BY x.indrelid, ci.relname`;

export const SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type,
  s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
  s.seqcache::text AS cache, s.seqcycle AS cycle, ps.last_value::text AS last_value,
  own.deptype::text AS owned_deptype, own_n.nspname AS owner_schema, own_c.relname AS owner_name,
  own_a.attname AS owner_column
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = c.relname
LEFT JOIN pg_depend own ON own.classid = 'pg_class'::regclass AND own.objid = c.oid
  AND own.refclassid = 'pg_class'::regclass AND own.refobjsubid > 0 AND own.deptype IN ('a', 'i')
LEFT JOIN pg_class own_c ON own_c.oid = own.refobjid
LEFT JOIN pg_namespace own_n ON own_n.oid = own_c.relnamespace
LEFT JOIN pg_attribute own_a ON own_a.attrelid = own.refobjid AND own_a.attnum = own.refobjsubid
WHERE c.relpersistence <> 't' AND ${USER_NAMESPACE} AND ${notExtensionMember('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname`;

export const ENUMS_SQL = `
SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name,
  ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ${USER_NAMESPACE} AND ${notExtensionMember('pg_type', 't.oid')}
ORDER BY n.nspname, t.typname`;

export const DOMAINS_SQL = `
SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name,
  format_type(t.typbasetype, t.typtypmod) AS base_type, t.typnotnull AS not_null,
  pg_get_expr(t.typdefaultbin, 'pg_type'::regclass) AS default_expr,
  COALESCE((SELECT json_agg(json_build_object('name', con.conname, 'definition', pg_get_constraintdef(con.oid))
     ORDER BY con.conname) FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c'), '[]') AS checks
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND ${USER_NAMESPACE} AND ${notExtensionMember('pg_type', 't.oid')}
ORDER BY n.nspname, t.typname`;

export const EXTENSIONS_SQL = `
SELECT x.extname AS name, n.nspname AS schema, x.extversion AS version
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
ORDER BY x.extname`;

export const DATABASE_SQL = `SELECT current_database() AS database, current_setting('server_version_num')::int AS version`;
