import type { CatalogIndex, CatalogKey, TableRef } from '../catalog/model.js';
import { quoteIdent, quoteIdentList, quoteQualified } from '../pg/quote.js';
import type { KeptForeignKey, RoutedColumn, ServiceRoute, TableRoute } from '../routing/model.js';
import type { PostLoadObject } from './ddl-model.js';

const qt = (t: TableRef) => quoteQualified(t.schema, t.name);

/**
 * What a service database gets after its load: the unique keys (but a replica-identity one) and
 * secondary indexes of its owned tables and those declared on their partitions, and the foreign
 * keys kept inside it (including those declared on partitions). Pure. Indexes use
 * `IF NOT EXISTS`, unique keys are skipped when their index exists; foreign keys are added NOT VALID
 * and then validated, so the stream can keep applying while they are checked.
 */
export function renderPostLoad(service: ServiceRoute): PostLoadObject[] {
  const objects: PostLoadObject[] = [];
  for (const route of service.tables) {
    if (route.kind !== 'owned') continue;
    const group = `${route.target.schema}.${route.target.name}`;
    // Keys and indexes declared on single partitions come first: the table's own indexes then
    // create their partition indexes under names that do not take a declared one's.
    for (const partition of route.partitionTree ?? []) {
      const table = { schema: partition.table.schema, name: partition.table.name };
      for (const key of partition.keys) {
        const index = partition.table.indexes.find((i) => i.constraint === key.name);
        objects.push({
          kind: 'index',
          name: `${table.schema}.${key.name}`,
          table,
          group,
          index: index?.name ?? key.name,
          statements: renderKey(route, table, key, index),
        });
      }
      for (const index of partition.indexes) {
        objects.push({
          kind: 'index',
          name: `${table.schema}.${index.name}`,
          table,
          group,
          index: index.name,
          statements: renderIndex(route, table, index),
        });
      }
    }
    for (const key of postLoadUniqueKeys(route)) {
      const index = route.sourceTable.indexes.find((i) => i.constraint === key.name);
      objects.push({
        kind: 'index',
        name: `${route.target.schema}.${key.name}`,
        table: route.target,
        group,
        index: index?.name ?? key.name,
        statements: renderKey(route, route.target, key, index),
      });
    }
    for (const index of secondaryIndexes(route)) {
      objects.push({
        kind: 'index',
        name: `${route.target.schema}.${index.name}`,
        table: route.target,
        group,
        index: index.name,
        statements: renderIndex(route, route.target, index),
      });
    }
  }
  for (const fk of service.keptForeignKeys) objects.push(renderForeignKey(fk));
  return objects;
}

/** Indexes that are neither a constraint's nor the replica-identity key (those exist before the load). */
export function secondaryIndexes(route: TableRoute): CatalogIndex[] {
  const source = route.sourceTable;
  const dropped = new Set(route.droppedColumns ?? []);
  return source.indexes.filter(
    (i) =>
      !i.primary &&
      !i.constraint &&
      i.name !== source.replicaIdentityIndex &&
      i.usingClause !== undefined &&
      !(i.referencedColumns ?? i.columns).some((c) => dropped.has(c)),
  );
}

/** Unique constraints built after the load: all but the replica-identity key (made with the table). */
export function postLoadUniqueKeys(route: TableRoute): CatalogKey[] {
  const source = route.sourceTable;
  const dropped = new Set(route.droppedColumns ?? []);
  const keyConstraint =
    source.replicaIdentity === 'index'
      ? source.indexes.find((i) => i.name === source.replicaIdentityIndex)?.constraint
      : undefined;
  return source.uniqueKeys.filter((k) => k.name !== keyConstraint && !k.columns.some((c) => dropped.has(c)));
}

/** `table` is the route's table or one of its partitions (whose columns are renamed with it). */
function renderIndex(route: TableRoute, table: TableRef, index: CatalogIndex): string[] {
  const create = `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteIdent(index.name)} ON ${qt(table)} ${index.usingClause}`;
  return withSourceNames(route, index.referencedColumns ?? index.columns, create);
}

function renderKey(route: TableRoute, table: TableRef, key: CatalogKey, index?: CatalogIndex): string[] {
  const add = `ALTER TABLE ${qt(table)} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.definition}`;
  return withSourceNames(route, index?.referencedColumns ?? key.columns, add);
}

/**
 * Index and constraint texts read source column names. When some of them were renamed, the columns
 * get their source names back for the duration of one transaction, so PostgreSQL resolves the text
 * and records it against the (renamed) columns — no expression text is rewritten by carve.
 */
function withSourceNames(route: TableRoute, columnsRead: readonly string[], create: string): string[] {
  const table = qt(route.target);
  const read = new Set(columnsRead);
  const renames = route.columns.filter((c) => c.source !== c.target);
  if (!renames.some((c) => read.has(c.source))) return [create];
  const rename = (from: string, to: string) =>
    `ALTER TABLE ${table} RENAME COLUMN ${quoteIdent(from)} TO ${quoteIdent(to)}`;
  // When a source name is now another column's target name (a swap), step through temporary names.
  const targets = new Set(route.columns.map((c) => c.target));
  const clash = renames.some((c) => targets.has(c.source));
  const temp = (i: number) => `carve_index_${i}`;
  const move = (from: (c: RoutedColumn) => string, to: (c: RoutedColumn) => string) =>
    clash
      ? [...renames.map((c, i) => rename(from(c), temp(i))), ...renames.map((c, i) => rename(temp(i), to(c)))]
      : renames.map((c) => rename(from(c), to(c)));
  return [
    'BEGIN',
    ...move(
      (c) => c.target,
      (c) => c.source,
    ),
    create,
    ...move(
      (c) => c.source,
      (c) => c.target,
    ),
    'COMMIT',
  ];
}

function renderForeignKey(fk: KeptForeignKey): PostLoadObject {
  const source = fk.source;
  const table = qt(fk.from);
  let sql = `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${quoteIdentList(fk.columns)}) REFERENCES ${qt(fk.to)} (${quoteIdentList(fk.toColumns)})`;
  if (source.match === 'full') sql += ' MATCH FULL';
  sql += ` ON UPDATE ${source.onUpdate.toUpperCase()} ON DELETE ${source.onDelete.toUpperCase()}`;
  if (source.deferrable) sql += source.initiallyDeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE';
  // PostgreSQL 15 cannot add a NOT VALID foreign key to a partitioned table.
  if (fk.fromPartitioned || !source.validated) {
    return {
      kind: 'foreign-key',
      name: fk.name,
      table: fk.from,
      constraint: fk.name,
      add: [sql + (source.validated ? '' : ' NOT VALID')],
      validate: [],
    };
  }
  return {
    kind: 'foreign-key',
    name: fk.name,
    table: fk.from,
    constraint: fk.name,
    add: [`${sql} NOT VALID`],
    validate: [`ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`],
  };
}
