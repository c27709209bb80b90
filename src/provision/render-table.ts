import {
  sameTable,
  type Catalog,
  type CatalogColumn,
  type CatalogSequence,
  type TableRef,
} from '../catalog/model.js';
import { quoteIdent, quoteIdentList, quoteQualified } from '../pg/quote.js';
import type { TableRoute } from '../routing/model.js';
import { partitionTree } from '../routing/partition-tree.js';
import { clipIdentifier } from './sql-text.js';

const qt = (t: TableRef) => quoteQualified(t.schema, t.name);

/**
 * CREATE TABLE for an owned route. The table is created under its target name but with the
 * source column names, then columns are renamed: PostgreSQL then rewrites every check, generated
 * expression, index and partition key that mentions them, so no expression text is edited here.
 */
export function renderOwnedTable(route: TableRoute, catalog: Catalog): string[] {
  const source = route.sourceTable;
  const kept = new Set(route.columns.map((c) => c.source));
  const dropped = new Set(route.droppedColumns ?? []);
  const keeps = (columns: readonly string[] | undefined) => (columns ?? []).every((c) => !dropped.has(c));
  const target = qt(route.target);

  const lines = source.columns
    .filter((c) => kept.has(c.name))
    .map((c) => `  ${columnDefinition(c, catalog)}`);
  if (source.primaryKey && keeps(source.primaryKey.columns)) {
    lines.push(`  CONSTRAINT ${quoteIdent(source.primaryKey.name)} ${source.primaryKey.definition}`);
  }
  // Other unique keys come after the load (render-post-load.ts): faster to build once, and rows
  // loaded under two snapshots by a resumed copy may hold a moved value twice until the stream
  // has caught up. A unique key that is the table's replica identity is its row key: needed now.
  const keyConstraint =
    source.replicaIdentity === 'index'
      ? source.indexes.find((i) => i.name === source.replicaIdentityIndex)?.constraint
      : undefined;
  for (const key of source.uniqueKeys) {
    if (key.name === keyConstraint && keeps(key.columns))
      lines.push(`  CONSTRAINT ${quoteIdent(key.name)} ${key.definition}`);
  }
  const checks = source.checks.filter((c) => keeps(c.columns));
  for (const check of checks.filter((c) => c.validated)) {
    lines.push(`  CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`);
  }
  const partitionBy = source.partitionKey ? ` PARTITION BY ${source.partitionKey}` : '';
  const statements = [
    `CREATE ${source.unlogged ? 'UNLOGGED ' : ''}TABLE ${target} (\n${lines.join(',\n')}\n)${partitionBy}`,
  ];
  statements.push(...renderPartitions(route, catalog));
  // NOT VALID cannot be written inline in CREATE TABLE.
  for (const check of checks.filter((c) => !c.validated)) {
    statements.push(`ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`);
  }
  // The key of a table without primary key must exist before the stream applies (ON CONFLICT).
  const ri =
    source.replicaIdentity === 'index'
      ? source.indexes.find((i) => i.name === source.replicaIdentityIndex)
      : undefined;
  if (ri?.usingClause && keeps(ri.referencedColumns ?? ri.columns) && !ri.constraint) {
    statements.push(`CREATE UNIQUE INDEX ${quoteIdent(ri.name)} ON ${target} ${ri.usingClause}`);
  }
  for (const column of source.columns) {
    if (!kept.has(column.name) || column.identity || !column.sequence) continue;
    const sequence = findSequence(catalog, column.sequence);
    const owner = sequence?.ownedBy;
    if (
      owner &&
      owner.schema === source.schema &&
      owner.name === source.name &&
      owner.column === column.name
    ) {
      statements.push(`ALTER SEQUENCE ${qt(sequence)} OWNED BY ${target}.${quoteIdent(column.name)}`);
    }
  }
  statements.push(...renderRenames(target, route));
  if (source.replicaIdentity === 'full') statements.push(`ALTER TABLE ${target} REPLICA IDENTITY FULL`);
  if (ri && keeps(ri.referencedColumns ?? ri.columns)) {
    statements.push(`ALTER TABLE ${target} REPLICA IDENTITY USING INDEX ${quoteIdent(ri.name)}`);
  }
  return statements;
}

/** A projection: the projected columns with their types, NOT NULL, and the key as primary key. */
export function renderProjectionTable(route: TableRoute): string[] {
  const source = route.sourceTable;
  const lines = route.columns.map((rc) => {
    const c = source.columns.find((col) => col.name === rc.source)!;
    const collate = c.collation ? ` COLLATE ${c.collation}` : '';
    return `  ${quoteIdent(rc.target)} ${c.type}${collate}${c.notNull ? ' NOT NULL' : ''}`;
  });
  const keyTargets = route.key.map((k) => route.columns.find((c) => c.source === k)!.target);
  lines.push(
    `  CONSTRAINT ${quoteIdent(projectionKeyName(route))} PRIMARY KEY (${quoteIdentList(keyTargets)})`,
  );
  return [`CREATE TABLE ${qt(route.target)} (\n${lines.join(',\n')}\n)`];
}

export function projectionKeyName(route: TableRoute): string {
  return clipIdentifier(`${route.target.name}_pkey`);
}

/** The empty audit table every service database gets when the plan names one. */
export function renderAuditTable(table: TableRef): string[] {
  return [
    `CREATE TABLE ${qt(table)} (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  occurred_at timestamp with time zone NOT NULL DEFAULT now(),
  actor text,
  action text NOT NULL,
  table_name text,
  row_key jsonb,
  old_row jsonb,
  new_row jsonb
)`,
  ];
}

/** The audit table's columns, for comparing with an existing table. */
export const AUDIT_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'id', type: 'bigint' },
  { name: 'occurred_at', type: 'timestamp with time zone' },
  { name: 'actor', type: 'text' },
  { name: 'action', type: 'text' },
  { name: 'table_name', type: 'text' },
  { name: 'row_key', type: 'jsonb' },
  { name: 'old_row', type: 'jsonb' },
  { name: 'new_row', type: 'jsonb' },
];

function columnDefinition(c: CatalogColumn, catalog: Catalog): string {
  let sql = `${quoteIdent(c.name)} ${c.type}`;
  if (c.collation) sql += ` COLLATE ${c.collation}`;
  if (c.generated !== undefined) sql += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
  if (c.identity) {
    const sequence = c.sequence ? findSequence(catalog, c.sequence) : undefined;
    const options = sequence ? ` (SEQUENCE NAME ${qt(sequence)} ${sequenceOptions(sequence)})` : '';
    sql += ` GENERATED ${c.identity === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${options}`;
  }
  if (c.default !== undefined) sql += ` DEFAULT ${c.default}`;
  if (c.notNull) sql += ' NOT NULL';
  return sql;
}

export function sequenceOptions(s: CatalogSequence): string {
  return [
    `INCREMENT BY ${s.increment}`,
    `MINVALUE ${s.min}`,
    `MAXVALUE ${s.max}`,
    `START WITH ${s.start}`,
    `CACHE ${s.cache}`,
    s.cycle ? 'CYCLE' : 'NO CYCLE',
  ].join(' ');
}

export function renderSequence(s: CatalogSequence): string[] {
  return [`CREATE SEQUENCE ${qt(s)} AS ${s.dataType} ${sequenceOptions(s)}`];
}

export function findSequence(catalog: Catalog, ref: TableRef): CatalogSequence | undefined {
  return catalog.sequences.find((s) => s.schema === ref.schema && s.name === ref.name);
}

/**
 * Sub-partitions and leaves, under their source names, attached to the renamed parent, with the
 * checks and NOT NULLs declared on them alone (their keys and indexes come after the load). Source
 * column names: the columns are renamed afterwards, through the parent.
 */
function renderPartitions(route: TableRoute, catalog: Catalog): string[] {
  const source = route.sourceTable;
  const tree = route.partitionTree ?? partitionTree(source, catalog, new Set(route.droppedColumns ?? []));
  const statements: string[] = [];
  for (const { table, checks, notNull } of tree) {
    const parent = table.parent && sameTable(table.parent, source) ? route.target : table.parent!;
    const by = table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : '';
    statements.push(`CREATE TABLE ${qt(table)} PARTITION OF ${qt(parent)} ${table.partitionBound}${by}`);
    for (const column of notNull) {
      statements.push(`ALTER TABLE ${qt(table)} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL`);
    }
    for (const check of checks) {
      // The definition says NOT VALID itself when the check is.
      statements.push(
        `ALTER TABLE ${qt(table)} ADD CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`,
      );
    }
  }
  return statements;
}

/**
 * Column renames. When a target name is still held by another column that is itself being
 * renamed (a → b, b → c, or a swap), everything goes through temporary names first.
 */
function renderRenames(target: string, route: TableRoute): string[] {
  const renames = route.columns.filter((c) => c.source !== c.target);
  if (renames.length === 0) return [];
  const sources = new Set(route.columns.map((c) => c.source));
  const chained = renames.some((r) => sources.has(r.target));
  const rename = (from: string, to: string) =>
    `ALTER TABLE ${target} RENAME COLUMN ${quoteIdent(from)} TO ${quoteIdent(to)}`;
  if (!chained) return renames.map((r) => rename(r.source, r.target));
  const temp = (i: number) => `carve_rename_${i}`;
  return [
    ...renames.map((r, i) => rename(r.source, temp(i))),
    ...renames.map((r, i) => rename(temp(i), r.target)),
  ];
}
