import type { Catalog, CatalogTable, TableRef } from '../catalog/model.js';
import type { RoutedPartition } from './model.js';

/**
 * Every partition below an owned partitioned table — intermediate (sub-partitioned) levels and
 * leaves, parents before their children, siblings in name order — with what was declared on each
 * partition alone: PostgreSQL recreates what a partition inherits when the partition is created
 * under its parent (or when the parent's index or key is built), but an index, key, check or NOT
 * NULL declared on one partition exists only there and has to be recreated on it.
 *
 * Objects reading a column the plan drops are left out (routing warnings name them).
 */
export function partitionTree(
  root: CatalogTable,
  catalog: Catalog,
  dropped: ReadonlySet<string>,
): RoutedPartition[] {
  if (root.partitionKey === undefined) return [];
  const keeps = (columns: readonly string[] | undefined) => (columns ?? []).every((c) => !dropped.has(c));
  const out: RoutedPartition[] = [];
  const below = (parent: CatalogTable, depth: number) => {
    if (depth > 32) return;
    for (const child of childrenOf(parent, catalog)) {
      const nullable = new Set(parent.columns.filter((c) => !c.notNull).map((c) => c.name));
      out.push({
        table: child,
        keys: [child.primaryKey, ...child.uniqueKeys].filter(
          (k): k is NonNullable<typeof k> => k !== undefined && !k.inherited && keeps(k.columns),
        ),
        indexes: localIndexes(child).filter((i) => keeps(i.referencedColumns ?? i.columns)),
        checks: child.checks.filter((c) => !c.inherited && keeps(c.columns)),
        notNull: child.columns
          .filter((c) => c.notNull && nullable.has(c.name) && !dropped.has(c.name))
          .map((c) => c.name),
      });
      below(child, depth + 1);
    }
  };
  below(root, 0);
  return out;
}

/** Indexes declared on the partition alone (not a key's, not attached to a parent's index). */
export function localIndexes(partition: CatalogTable): CatalogTable['indexes'] {
  return partition.indexes.filter((i) => !i.inherited && !i.constraint && i.usingClause !== undefined);
}

export function childrenOf(parent: TableRef, catalog: Catalog): CatalogTable[] {
  return catalog.tables.filter(
    (t) => t.parent && t.parent.schema === parent.schema && t.parent.name === parent.name,
  );
}
