import { tableKey, type Catalog, type CatalogTable } from '../catalog/model.js';
import type { Plan, PlanProjection, PlanService, PlanTable } from '../plan/model.js';
import { PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import { mapColumns, type ColumnMapping } from './map-columns.js';
import { rowKey } from './row-key.js';
import { similar, TableResolver } from './table-resolver.js';

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

const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
const UNSUPPORTED_USER_TYPES = new Set(['composite', 'range', 'base']);

/** Resolve every table the plan names against the catalog and check ownership, keys and columns. */
export function resolvePlacement(plan: Plan, catalog: Catalog, stateSchema: string): Placement {
  const resolver = new TableResolver(catalog, stateSchema);
  const problems: PlanProblem[] = [];
  const owned: OwnedPlacement[] = [];
  const ownerOf = new Map<string, OwnedPlacement>();

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

  for (const service of plan.services) {
    for (const planTable of service.tables) {
      const path = planTable.from !== planTable.name ? `${planTable.path}.from` : planTable.path;
      const table = resolveRoot(planTable.from, planTable.schema, path);
      if (!table) continue;
      const first = ownerOf.get(tableKey(table));
      if (first) {
        problems.push({
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
        });
        continue;
      }
      const mapping = mapColumns(table, planTable);
      problems.push(...mapping.problems);
      const key = rowKey(table, catalog);
      if (!key.columns) {
        problems.push({
          code: PlanProblemCode.noUsableKey,
          path,
          object: qualified(table),
          message: `${qualified(table)} cannot be streamed: ${key.reason}`,
          hint: 'Add a primary key, or a unique index on NOT NULL columns with REPLICA IDENTITY USING INDEX, or move it to `exclude`.',
          details: { table: qualified(table), replicaIdentity: table.replicaIdentity, reason: key.reason },
        });
      }
      for (const dropped of mapping.dropped) {
        const neededBy: string[] = [];
        if (key.columns?.includes(dropped)) neededBy.push(`the row key (${key.source})`);
        for (const column of table.columns) {
          if (
            column.generated &&
            !mapping.dropped.includes(column.name) &&
            column.dependsOn?.includes(dropped)
          ) {
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
      const placement: OwnedPlacement = {
        service,
        planTable,
        table,
        mapping,
        key: key.columns ?? [],
        keySource: key.columns ? key.source : 'primary key',
      };
      ownerOf.set(tableKey(table), placement);
      owned.push(placement);
    }
  }

  const excluded: CatalogTable[] = [];
  for (const entry of plan.exclude) {
    const table = resolveRoot(entry.name, entry.schema, entry.path);
    if (!table) continue;
    const owner = ownerOf.get(tableKey(table));
    if (owner) {
      problems.push({
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

  for (const table of catalog.tables) {
    if (table.kind === 'partition' || table.schema === stateSchema) continue;
    if (ownerOf.has(tableKey(table)) || excluded.includes(table)) continue;
    const near = plan.services
      .flatMap((s) => s.tables)
      .filter((t) => similar(t.from, table.name) && t.from !== table.name);
    problems.push({
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

  const projections: ProjectionPlacement[] = [];
  for (const projection of plan.projections) {
    const service = plan.services.find((s) => s.name === projection.service);
    const table = resolveRoot(projection.from, projection.schema, `${projection.path}.from`);
    if (!service || !table) continue;
    const owner = ownerOf.get(tableKey(table));
    if (!owner) {
      problems.push({
        code: PlanProblemCode.projectionSource,
        path: `${projection.path}.from`,
        object: qualified(table),
        message: `Projection source ${qualified(table)} is not placed in any service`,
        hint: 'Place the table in its owning service first; projections copy a moving table.',
        details: { table: qualified(table), reason: 'not placed' },
      });
      continue;
    }
    if (owner.service.database === service.database && owner.service.target === service.target) {
      problems.push({
        code: PlanProblemCode.projectionSource,
        path: `${projection.path}.to`,
        object: qualified(table),
        message: `Projection of ${qualified(table)} goes into ${service.database}, which already owns it`,
        hint: 'Project into another service, or remove the projection.',
        details: { table: qualified(table), reason: 'same database', database: service.database },
      });
      continue;
    }
    const names = table.columns.map((c) => c.name);
    const columns =
      projection.columns?.map((c) => ({ source: c.name, target: c.target })) ??
      names.map((n) => ({ source: n, target: n }));
    let ok = true;
    const seen = new Map<string, string>();
    for (const [i, c] of columns.entries()) {
      const other = seen.get(c.target);
      if (other !== undefined) {
        ok = false;
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
    for (const c of projection.columns ?? []) {
      if (!names.includes(c.name)) {
        ok = false;
        problems.push({
          code: PlanProblemCode.unknownColumn,
          path: c.path,
          object: `${qualified(table)}.${c.name}`,
          message: `Column ${c.name} does not exist in ${qualified(table)}`,
          hint: `Columns are: ${names.join(', ')}.`,
          details: { table: qualified(table), column: c.name },
        });
      }
    }
    const missing = owner.key.filter((k) => !columns.some((c) => c.source === k));
    if (owner.key.length > 0 && missing.length > 0) {
      ok = false;
      problems.push({
        code: PlanProblemCode.projectionKeyMissing,
        path: `${projection.path}.columns`,
        object: qualified(table),
        message: `Projection of ${qualified(table)} into ${service.name}.${projection.table} lacks key column(s) ${missing.join(', ')}`,
        hint: `Add ${missing.join(', ')} to the projection's columns: the stream finds rows by the key (${owner.key.join(', ')}).`,
        details: { table: qualified(table), missing, key: owner.key },
      });
    }
    if (ok) projections.push({ projection, service, table, columns, key: owner.key });
  }

  return { owned, projections, excluded, problems };
}

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
