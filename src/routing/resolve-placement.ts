import { tableKey, type Catalog, type CatalogTable } from '../catalog/model.js';
import type { Plan } from '../plan/model.js';
import { PlanProblemCode } from '../plan/problems.js';
import { placeOwnedTables } from './place-owned.js';
import { placeProjections } from './place-projections.js';
import {
  placementScope,
  qualified,
  type OwnedPlacement,
  type Placement,
  type PlacementScope,
} from './placement.js';
import { similar } from './table-resolver.js';

/**
 * Resolve every table the plan names against the catalog and check ownership, keys and columns:
 * owned tables, then exclusions, then what is left unassigned, then projections. Every problem is
 * reported, in that order.
 */
export function resolvePlacement(plan: Plan, catalog: Catalog, stateSchema: string): Placement {
  const scope = placementScope(plan, catalog, stateSchema);
  const ownerOf = placeOwnedTables(scope);
  const excluded = resolveExcluded(scope, ownerOf);
  reportUnassigned(scope, ownerOf, excluded);
  const projections = placeProjections(scope, ownerOf);
  return { owned: [...ownerOf.values()], projections, excluded, problems: scope.problems };
}

/** The plan's `exclude` list: tables deliberately left in the monolith, never also placed. */
function resolveExcluded(
  scope: PlacementScope,
  ownerOf: ReadonlyMap<string, OwnedPlacement>,
): CatalogTable[] {
  const excluded: CatalogTable[] = [];
  for (const entry of scope.plan.exclude) {
    const table = scope.resolveRoot(entry.name, entry.schema, entry.path);
    if (!table) continue;
    const owner = ownerOf.get(tableKey(table));
    if (owner) {
      scope.problems.push({
        code: PlanProblemCode.excludedAndOwned,
        path: entry.path,
        object: qualified(table),
        message: `${qualified(table)} is excluded but also placed as ${owner.service.name}.${owner.planTable.name}`,
        hint: 'Either remove it from `exclude` or from the service.',
        details: { table: qualified(table), service: owner.service.name },
      });
      continue;
    }
    if (!excluded.includes(table)) excluded.push(table);
  }
  return excluded;
}

/** Every monolith table must be placed or excluded: a forgotten one would silently stay behind. */
function reportUnassigned(
  scope: PlacementScope,
  ownerOf: ReadonlyMap<string, OwnedPlacement>,
  excluded: readonly CatalogTable[],
): void {
  for (const table of scope.catalog.tables) {
    if (table.kind === 'partition' || table.schema === scope.stateSchema) continue;
    if (ownerOf.has(tableKey(table)) || excluded.includes(table)) continue;
    const near = scope.plan.services
      .flatMap((s) => s.tables)
      .filter((t) => similar(t.from, table.name) && t.from !== table.name);
    scope.problems.push({
      code: PlanProblemCode.tableUnassigned,
      path: 'services',
      object: qualified(table),
      message: `Monolith table ${qualified(table)} is neither placed in a service nor excluded`,
      hint:
        `Add it to one service's tables, or list it under \`exclude\`` +
        (near.length ? ` (the plan names ${near.map((t) => t.from).join(', ')}: a typo?).` : '.'),
      details: { table: qualified(table) },
    });
  }
}
