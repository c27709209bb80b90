import type { Catalog, CatalogTable } from '../catalog/model.js';
import type { Plan, PlanProjection, PlanService, PlanTable } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import type { ColumnMapping } from './map-columns.js';
import { TableResolver } from './table-resolver.js';

/** Where the plan puts each monolith table (resolve-placement.ts), before routes are built. */
export interface OwnedPlacement {
  service: PlanService;
  planTable: PlanTable;
  table: CatalogTable;
  mapping: ColumnMapping;
  key: string[];
  keySource: 'primary key' | 'replica identity index';
}

export interface ProjectionPlacement {
  projection: PlanProjection;
  service: PlanService;
  table: CatalogTable;
  /** Source and projection column names, in the order the plan lists them. */
  columns: { source: string; target: string }[];
  key: string[];
}

export interface Placement {
  owned: OwnedPlacement[];
  projections: ProjectionPlacement[];
  excluded: CatalogTable[];
  problems: PlanProblem[];
}

/** What every step of the placement shares: the plan, the catalog, and the problems found so far. */
export interface PlacementScope {
  plan: Plan;
  catalog: Catalog;
  /** carve's own schema in the monolith: never placed, never reported as unassigned. */
  stateSchema: string;
  /** Every problem, in the order the steps find them (the plan's order within a step). */
  problems: PlanProblem[];
  /** The table the plan names, unless it is missing or a partition: then a problem, and undefined. */
  resolveRoot(name: string, schema: string | undefined, path: string): CatalogTable | undefined;
}

export function placementScope(plan: Plan, catalog: Catalog, stateSchema: string): PlacementScope {
  const resolver = new TableResolver(catalog, stateSchema);
  const problems: PlanProblem[] = [];
  const resolveRoot = (name: string, schema: string | undefined, path: string): CatalogTable | undefined => {
    const result = resolver.resolve(name, schema, path);
    if ('problem' in result) {
      problems.push(result.problem);
      return undefined;
    }
    const table = result.table;
    if (table.kind === 'partition') {
      const root = rootOf(table, catalog);
      problems.push({
        code: PlanProblemCode.partitionPlaced,
        path,
        object: qualified(table),
        message: `${qualified(table)} is a partition of ${qualified(root)}; partitions move with their parent`,
        hint: `Place ${qualified(root)} instead.`,
        details: { table: qualified(table), parent: qualified(root) },
      });
      return undefined;
    }
    return table;
  };
  return { plan, catalog, stateSchema, problems, resolveRoot };
}

export const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export function rootOf(table: CatalogTable, catalog: Catalog): CatalogTable {
  let current = table;
  for (let depth = 0; current.parent && depth < 32; depth++) {
    const parent = catalog.tables.find(
      (t) => t.schema === current.parent!.schema && t.name === current.parent!.name,
    );
    if (!parent) break;
    current = parent;
  }
  return current;
}
