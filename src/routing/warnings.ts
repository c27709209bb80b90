import type { Catalog, CatalogTable } from '../catalog/model.js';
import type { PlanWarning } from './model.js';
import { childrenOf, localIndexes } from './partition-tree.js';
import type { Placement } from './placement.js';

/** TOAST above this size, and above the heap's, makes a table "TOAST-heavy". */
const TOAST_HEAVY_BYTES = 64 * 1024;

const ref = (t: CatalogTable) => ({ schema: t.schema, name: t.name });
const q = (t: CatalogTable) => `${t.schema}.${t.name}`;

/** Things that migrate but deserve the operator's attention. */
export function routingWarnings(placement: Placement, catalog: Catalog): PlanWarning[] {
  const warnings: PlanWarning[] = [];
  for (const { table, mapping } of placement.owned) {
    if (table.partitionKey !== undefined)
      warnings.push(...partitionWarnings(table, mapping.dropped, catalog));
  }
  for (const { table, mapping, keySource, key } of placement.owned) {
    if (keySource === 'replica identity index') {
      warnings.push({
        code: 'NO_PRIMARY_KEY',
        message: `${q(table)} has no primary key; rows are identified by its replica-identity index ${table.replicaIdentityIndex} (${key.join(', ')})`,
        table: ref(table),
      });
    }
    for (const column of table.columns) {
      if (column.generated && !mapping.dropped.includes(column.name)) {
        warnings.push({
          code: 'GENERATED_COLUMN',
          message: `${q(table)}.${column.name} is a generated column: the target recomputes it, it is never copied`,
          table: ref(table),
          column: column.name,
        });
      }
    }
    if (table.toastBytes >= TOAST_HEAVY_BYTES && table.toastBytes > table.heapBytes) {
      const toastable = table.columns.filter(
        (c) => (c.storage === 'x' || c.storage === 'e') && !mapping.dropped.includes(c.name),
      );
      warnings.push({
        code: 'TOAST_HEAVY',
        message: `${q(table)} keeps ${table.toastBytes} bytes out of line (heap ${table.heapBytes}) in ${toastable.map((c) => c.name).join(', ')}: copy is slower, and an UPDATE that leaves them unchanged streams them as "unchanged"`,
        table: ref(table),
        ...(toastable.length === 1 ? { column: toastable[0]!.name } : {}),
      });
    }
    if (table.unlogged) {
      warnings.push({
        code: 'UNLOGGED_TABLE',
        message: `${q(table)} is UNLOGGED: it is copied, but its later changes are not in the WAL and cannot be streamed`,
        table: ref(table),
      });
    }
    for (const check of table.checks) {
      const lost = (check.columns ?? []).filter((c) => mapping.dropped.includes(c));
      if (lost.length > 0) {
        warnings.push({
          code: 'CHECK_NOT_MIGRATED',
          message: `Check constraint ${check.name} of ${q(table)} is not recreated: it reads dropped column(s) ${lost.join(', ')}`,
          table: ref(table),
        });
      }
    }
    for (const index of table.indexes) {
      const lost = (index.referencedColumns ?? index.columns).filter((c) => mapping.dropped.includes(c));
      if (lost.length > 0) {
        warnings.push({
          code: 'INDEX_NOT_MIGRATED',
          message: `${index.constraint ? 'Constraint' : 'Index'} ${index.name} of ${q(table)} is not recreated: it reads dropped column(s) ${lost.join(', ')}`,
          table: ref(table),
        });
      }
    }
  }
  for (const table of placement.excluded) {
    warnings.push({
      code: 'EXCLUDED_TABLE',
      message: `${q(table)} is excluded: it stays in the monolith and is not migrated`,
      table: ref(table),
    });
  }
  return warnings;
}

/** Objects declared on single partitions that read a dropped column (the table's own are above). */
function partitionWarnings(root: CatalogTable, dropped: readonly string[], catalog: Catalog): PlanWarning[] {
  const warnings: PlanWarning[] = [];
  const lost = (columns: readonly string[] | undefined) => (columns ?? []).filter((c) => dropped.includes(c));
  const visit = (parent: CatalogTable, depth: number) => {
    if (depth > 32) return;
    for (const partition of childrenOf(parent, catalog)) {
      const where = `partition ${q(partition)} of ${q(root)}`;
      const objects = [
        ...[partition.primaryKey, ...partition.uniqueKeys]
          .filter((k) => k !== undefined && !k.inherited)
          .map((k) => ({ code: 'INDEX_NOT_MIGRATED', what: `Constraint ${k!.name}`, columns: k!.columns })),
        ...localIndexes(partition).map((i) => ({
          code: 'INDEX_NOT_MIGRATED',
          what: `Index ${i.name}`,
          columns: i.referencedColumns ?? i.columns,
        })),
        ...partition.checks
          .filter((c) => !c.inherited)
          .map((c) => ({
            code: 'CHECK_NOT_MIGRATED',
            what: `Check constraint ${c.name}`,
            columns: c.columns,
          })),
      ];
      for (const o of objects) {
        const reads = lost(o.columns);
        if (reads.length === 0) continue;
        warnings.push({
          code: o.code,
          message: `${o.what} of ${where} is not recreated: it reads dropped column(s) ${reads.join(', ')}`,
          table: ref(root),
        });
      }
      visit(partition, depth + 1);
    }
  };
  visit(root, 0);
  return warnings;
}
