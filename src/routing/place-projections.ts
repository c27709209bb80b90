import { tableKey, type CatalogTable } from '../catalog/model.js';
import type { PlanProjection, PlanService } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import {
  qualified,
  type OwnedPlacement,
  type PlacementScope,
  type ProjectionPlacement,
} from './placement.js';

type ProjectedColumn = ProjectionPlacement['columns'][number];

/**
 * Every projection, in plan order: of a placed table, into another database, with distinct column
 * names that exist and include the owner's row key. A projection with a problem is left out.
 */
export function placeProjections(
  scope: PlacementScope,
  ownerOf: ReadonlyMap<string, OwnedPlacement>,
): ProjectionPlacement[] {
  const projections: ProjectionPlacement[] = [];
  for (const projection of scope.plan.projections) {
    const service = scope.plan.services.find((s) => s.name === projection.service);
    const table = scope.resolveRoot(projection.from, projection.schema, `${projection.path}.from`);
    if (!service || !table) continue;
    const owner = ownerOf.get(tableKey(table));
    if (!owner) {
      scope.problems.push(notPlaced(projection, table));
      continue;
    }
    if (owner.service.database === service.database && owner.service.target === service.target) {
      scope.problems.push(intoOwnersDatabase(projection, service, table));
      continue;
    }
    const names = table.columns.map((c) => c.name);
    const columns =
      projection.columns?.map((c) => ({ source: c.name, target: c.target })) ??
      names.map((n) => ({ source: n, target: n }));
    const problems = [
      ...collidingColumns(projection, service, table, columns),
      ...unknownColumns(projection, table, names),
      ...missingKey(projection, service, table, columns, owner.key),
    ];
    scope.problems.push(...problems);
    if (problems.length === 0) projections.push({ projection, service, table, columns, key: owner.key });
  }
  return projections;
}

/** A projection copies a table that moves: its source must be placed in a service. */
function notPlaced(projection: PlanProjection, table: CatalogTable): PlanProblem {
  return {
    code: PlanProblemCode.projectionSource,
    path: `${projection.path}.from`,
    object: qualified(table),
    message: `Projection source ${qualified(table)} is not placed in any service`,
    hint: 'Place the table in its owning service first; projections copy a moving table.',
    details: { table: qualified(table), reason: 'not placed' },
  };
}

function intoOwnersDatabase(
  projection: PlanProjection,
  service: PlanService,
  table: CatalogTable,
): PlanProblem {
  return {
    code: PlanProblemCode.projectionSource,
    path: `${projection.path}.to`,
    object: qualified(table),
    message: `Projection of ${qualified(table)} goes into ${service.database}, which already owns it`,
    hint: 'Project into another service, or remove the projection.',
    details: { table: qualified(table), reason: 'same database', database: service.database },
  };
}

function collidingColumns(
  projection: PlanProjection,
  service: PlanService,
  table: CatalogTable,
  columns: readonly ProjectedColumn[],
): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const seen = new Map<string, string>();
  for (const [i, c] of columns.entries()) {
    const other = seen.get(c.target);
    if (other !== undefined) {
      problems.push({
        code: PlanProblemCode.columnCollision,
        path: projection.columns?.[i]?.path ?? `${projection.path}.columns`,
        object: `${service.name}.${projection.table}.${c.target}`,
        message: `In projection ${service.name}.${projection.table}, columns ${other} and ${c.source} would both be called ${c.target}`,
        hint: 'Give every projected column a distinct name.',
        details: {
          table: qualified(table),
          column: c.target,
          sources: [other, c.source],
          reason: 'projection',
        },
      });
    }
    seen.set(c.target, c.source);
  }
  return problems;
}

function unknownColumns(
  projection: PlanProjection,
  table: CatalogTable,
  names: readonly string[],
): PlanProblem[] {
  return (projection.columns ?? [])
    .filter((c) => !names.includes(c.name))
    .map((c) => ({
      code: PlanProblemCode.unknownColumn,
      path: c.path,
      object: `${qualified(table)}.${c.name}`,
      message: `Column ${c.name} does not exist in ${qualified(table)}`,
      hint: `Columns are: ${names.join(', ')}.`,
      details: { table: qualified(table), column: c.name },
    }));
}

/** The stream finds a projected row by the owner's key: every key column must be projected. */
function missingKey(
  projection: PlanProjection,
  service: PlanService,
  table: CatalogTable,
  columns: readonly ProjectedColumn[],
  key: string[],
): PlanProblem[] {
  const missing = key.filter((k) => !columns.some((c) => c.source === k));
  if (key.length === 0 || missing.length === 0) return [];
  return [
    {
      code: PlanProblemCode.projectionKeyMissing,
      path: `${projection.path}.columns`,
      object: qualified(table),
      message: `Projection of ${qualified(table)} into ${service.name}.${projection.table} lacks key column(s) ${missing.join(', ')}`,
      hint: `Add ${missing.join(', ')} to the projection's columns: the stream finds rows by the key (${key.join(', ')}).`,
      details: { table: qualified(table), missing, key },
    },
  ];
}
