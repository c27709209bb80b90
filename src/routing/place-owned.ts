import { tableKey, type CatalogTable } from '../catalog/model.js';
import type { PlanService, PlanTable } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import { mapColumns, type ColumnMapping } from './map-columns.js';
import { qualified, type OwnedPlacement, type PlacementScope } from './placement.js';
import { rowKey, type RowKey } from './row-key.js';

const UNSUPPORTED_USER_TYPES = new Set(['composite', 'range', 'base']);

/**
 * Every table of every service, in plan order: found in the catalog, owned once, with a row key,
 * without dropping what something needs, of types carve can recreate. By monolith table.
 */
export function placeOwnedTables(scope: PlacementScope): Map<string, OwnedPlacement> {
  const ownerOf = new Map<string, OwnedPlacement>();
  for (const service of scope.plan.services) {
    for (const planTable of service.tables) {
      const path = planTable.from !== planTable.name ? `${planTable.path}.from` : planTable.path;
      const table = scope.resolveRoot(planTable.from, planTable.schema, path);
      if (!table) continue;
      const first = ownerOf.get(tableKey(table));
      if (first) {
        scope.problems.push(ownedTwice(table, first, service, planTable, path));
        continue;
      }
      const mapping = mapColumns(table, planTable);
      scope.problems.push(...mapping.problems);
      const key = rowKey(table, scope.catalog);
      if (!key.columns) scope.problems.push(noUsableKey(table, key.reason, path));
      scope.problems.push(...droppedColumnsNeeded(table, planTable, mapping, key));
      scope.problems.push(...unsupportedTypes(table, mapping, path));
      ownerOf.set(tableKey(table), {
        service,
        planTable,
        table,
        mapping,
        key: key.columns ?? [],
        keySource: key.columns ? key.source : 'primary key',
      });
    }
  }
  return ownerOf;
}

function ownedTwice(
  table: CatalogTable,
  first: OwnedPlacement,
  service: PlanService,
  planTable: PlanTable,
  path: string,
): PlanProblem {
  return {
    code: PlanProblemCode.tableOwnedTwice,
    path,
    object: qualified(table),
    message: `${qualified(table)} is placed twice: as ${first.service.name}.${first.planTable.name} and as ${service.name}.${planTable.name}`,
    hint: 'A table has exactly one owner; use a projection for a read-only copy in another service.',
    details: {
      table: qualified(table),
      services: [first.service.name, service.name],
      paths: [first.planTable.path, planTable.path],
    },
  };
}

function noUsableKey(table: CatalogTable, reason: string, path: string): PlanProblem {
  return {
    code: PlanProblemCode.noUsableKey,
    path,
    object: qualified(table),
    message: `${qualified(table)} cannot be streamed: ${reason}`,
    hint: 'Add a primary key, or a unique index on NOT NULL columns with REPLICA IDENTITY USING INDEX, or move it to `exclude`.',
    details: { table: qualified(table), replicaIdentity: table.replicaIdentity, reason },
  };
}

/** A dropped column that the row key or a kept generated column needs. */
function droppedColumnsNeeded(
  table: CatalogTable,
  planTable: PlanTable,
  mapping: ColumnMapping,
  key: RowKey,
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  for (const dropped of mapping.dropped) {
    const neededBy: string[] = [];
    if (key.columns?.includes(dropped)) neededBy.push(`the row key (${key.source})`);
    for (const column of table.columns) {
      if (column.generated && !mapping.dropped.includes(column.name) && column.dependsOn?.includes(dropped)) {
        neededBy.push(`generated column ${column.name}`);
      }
    }
    if (neededBy.length > 0) {
      problems.push({
        code: PlanProblemCode.droppedColumnNeeded,
        path: planTable.drop.find((d) => d.name === dropped)!.path,
        object: `${qualified(table)}.${dropped}`,
        message: `Column ${dropped} of ${qualified(table)} cannot be dropped: ${neededBy.join(' and ')} needs it`,
        hint: 'Keep the column, or drop what depends on it too.',
        details: { table: qualified(table), column: dropped, neededBy },
      });
    }
  }
  return problems;
}

/** Kept columns of a user-defined type carve cannot recreate in the target. */
function unsupportedTypes(table: CatalogTable, mapping: ColumnMapping, path: string): PlanProblem[] {
  const problems: PlanProblem[] = [];
  for (const column of table.columns) {
    if (mapping.dropped.includes(column.name)) continue;
    if (column.userType && UNSUPPORTED_USER_TYPES.has(column.userType.kind)) {
      problems.push({
        code: PlanProblemCode.unsupportedType,
        path,
        object: `${qualified(table)}.${column.name}`,
        message: `Column ${column.name} of ${qualified(table)} has type ${column.type}, a user-defined ${column.userType.kind} type carve cannot recreate`,
        hint: 'Drop the column (`drop: [...]`), exclude the table, or create the type in the target databases first.',
        details: {
          table: qualified(table),
          column: column.name,
          type: column.type,
          kind: column.userType.kind,
        },
      });
    }
  }
  return problems;
}
