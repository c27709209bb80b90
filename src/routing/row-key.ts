import type { Catalog, CatalogTable } from '../catalog/model.js';

export type RowKey =
  | { columns: string[]; source: 'primary key' | 'replica identity index'; index?: string }
  | { columns?: undefined; reason: string };

/**
 * The columns that identify a row on both sides of the stream. Logical decoding identifies a
 * deleted or updated row by the replica identity, so with REPLICA IDENTITY USING INDEX the key is
 * that index, else the primary key. FULL alone is not enough: without a unique key, replaying a
 * change twice cannot be made idempotent. NOTHING would make UPDATE/DELETE fail on the monolith
 * once the table is published, so it is refused even with a primary key.
 */
export function rowKey(table: CatalogTable, catalog: Catalog): RowKey {
  const own = keyOf(table);
  if (!own.columns || table.kind !== 'partitioned') return own;
  for (const leaf of table.partitions) {
    const leafTable = catalog.tables.find((t) => t.schema === leaf.schema && t.name === leaf.name);
    if (leafTable?.replicaIdentity === 'nothing') {
      return { reason: `partition ${leaf.schema}.${leaf.name} has REPLICA IDENTITY NOTHING` };
    }
  }
  return own;
}

function keyOf(table: CatalogTable): RowKey {
  if (table.replicaIdentity === 'nothing') {
    return { reason: 'it has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be published' };
  }
  if (table.replicaIdentity === 'index' && table.replicaIdentityIndex) {
    const index = table.indexes.find((i) => i.name === table.replicaIdentityIndex);
    if (index && !index.isExpressionOrPartial) {
      return { columns: [...index.columns], source: 'replica identity index', index: index.name };
    }
  }
  if (table.primaryKey) return { columns: [...table.primaryKey.columns], source: 'primary key' };
  return {
    reason:
      table.replicaIdentity === 'full'
        ? 'it has no primary key and only REPLICA IDENTITY FULL, which cannot make replay idempotent'
        : 'it has no primary key and no replica-identity index',
  };
}
