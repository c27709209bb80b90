import { tableKey, type Catalog, type TableRef } from '../catalog/model.js';
import { checkPlanStatic, locateProblems } from '../plan/check-plan.js';
import { migrationNames, type Plan } from '../plan/model.js';
import { planInvalid, PlanProblemCode, type PlanProblem } from '../plan/problems.js';
import { withDatabase, withUser } from '../pg/connect.js';
import { loadOrder } from './load-order.js';
import { partitionTree } from './partition-tree.js';
import type {
  CutForeignKey,
  KeptForeignKey,
  PlanWarning,
  Routing,
  ServiceRoute,
  TableRoute,
} from './model.js';
import { resolveEventRoutes } from './event-routes.js';
import type { Placement } from './placement.js';
import { resolvePlacement } from './resolve-placement.js';
import { routingWarnings } from './warnings.js';

/**
 * Resolve a plan on the monolith's catalog: where every table goes, under which names, with
 * which key; which FKs survive inside a database and which are cut; in what order to load.
 * Pure. Throws PLAN_INVALID listing every problem (nothing has been written at that point).
 */
export function buildRouting(plan: Plan, catalog: Catalog): Routing {
  const names = migrationNames(plan.name);
  const placement = resolvePlacement(plan, catalog, names.stateSchema);
  const problems: PlanProblem[] = [...checkPlanStatic(plan), ...placement.problems];

  const routes: TableRoute[] = [];
  for (const p of placement.owned) {
    const target = { schema: p.table.schema, name: p.planTable.name };
    routes.push({
      id: routeId(p.service.database, target),
      kind: 'owned',
      service: p.service.name,
      database: p.service.database,
      source: { schema: p.table.schema, name: p.table.name },
      target,
      columns: p.mapping.columns,
      key: p.key,
      sourcePartitions: p.table.partitions.map((t) => ({ ...t })),
      readonly: p.service.readonly,
      sourceTable: p.table,
      droppedColumns: p.mapping.dropped,
      allColumns: true,
      partitionTree: partitionTree(p.table, catalog, new Set(p.mapping.dropped)),
    });
  }
  for (const p of placement.projections) {
    const target = { schema: p.table.schema, name: p.projection.table };
    routes.push({
      id: routeId(p.service.database, target),
      kind: 'projection',
      service: p.service.name,
      database: p.service.database,
      source: { schema: p.table.schema, name: p.table.name },
      target,
      columns: p.columns.map((c) => ({
        source: c.source,
        target: c.target,
        type: p.table.columns.find((col) => col.name === c.source)!.type,
        generated: false,
      })),
      key: p.key,
      sourcePartitions: p.table.partitions.map((t) => ({ ...t })),
      readonly: true,
      sourceTable: p.table,
      droppedColumns: [],
      allColumns: p.projection.columns === undefined,
    });
  }
  problems.push(...duplicateTargets(plan, routes));
  const eventRoutes = resolveEventRoutes(plan, catalog, routes, names.stateSchema);
  problems.push(...eventRoutes.problems);

  const { kept, cut, fkProblems, fkWarnings } = classifyForeignKeys(placement, routes);
  problems.push(...fkProblems);
  if (problems.length > 0) throw planInvalid(locateProblems(plan, problems), plan.file);

  const warnings: PlanWarning[] = [...routingWarnings(placement, catalog), ...fkWarnings];
  const services: ServiceRoute[] = plan.services.map((s) => {
    const tables = routes.filter((r) => r.service === s.name);
    const keptHere = kept.filter((k) => k.database === s.database);
    // Keys declared on partitions count as keys of the partitioned table they belong to.
    const byTarget = new Map(
      tables.flatMap((r) => [
        [tableKey(r.target), r.id] as const,
        ...(r.partitionTree ?? []).map((p) => [tableKey(p.table), r.id] as const),
      ]),
    );
    const edges = keptHere.map((k) => ({
      from: byTarget.get(tableKey(k.from))!,
      to: byTarget.get(tableKey(k.to))!,
    }));
    const { order, cycle } = loadOrder(
      tables.map((r) => r.id),
      edges,
    );
    if (cycle.length > 0) {
      warnings.push({
        code: 'FK_CYCLE',
        message: `Foreign keys in ${s.database} form a cycle between ${cycle.join(', ')}; they are loaded in plan order and the keys added after the load`,
      });
    }
    return {
      name: s.name,
      database: s.database,
      url: withUser(withDatabase(s.target, s.database), s.carveRole),
      adminUrl: withDatabase(s.target, s.database),
      serverUrl: s.target,
      role: s.role,
      ...(s.passwordEnv ? { passwordEnv: s.passwordEnv } : {}),
      carveRole: s.carveRole,
      ...(s.carvePasswordEnv ? { carvePasswordEnv: s.carvePasswordEnv } : {}),
      readonly: s.readonly,
      tables,
      loadOrder: order,
      keptForeignKeys: keptHere,
      ...(s.auditTable ? { auditTable: { schema: 'public', name: s.auditTable } } : {}),
    };
  });

  return {
    names,
    sourceUrl: plan.source,
    services,
    routes,
    cutForeignKeys: cut,
    excluded: placement.excluded.map((t) => ({ schema: t.schema, name: t.name })),
    warnings,
    schemaChanges: plan.schemaChanges,
    ...(plan.file ? { planFile: plan.file } : {}),
    ...(eventRoutes.events ? { events: eventRoutes.events } : {}),
  };
}

export function routeId(database: string, target: TableRef): string {
  return `${database}/${target.schema}.${target.name}`;
}

/** Two tables (owned, projection or audit) with one name in one database. */
function duplicateTargets(plan: Plan, routes: TableRoute[]): PlanProblem[] {
  const problems: PlanProblem[] = [];
  for (const service of plan.services) {
    const seen = new Map<string, string>();
    const claim = (ref: TableRef, what: string, path: string) => {
      const key = tableKey(ref);
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, what);
        return;
      }
      problems.push({
        code: PlanProblemCode.duplicateTargetTable,
        path,
        object: `${service.database}.${key}`,
        message: `${service.database} would get two tables named ${key}: ${first} and ${what}`,
        hint: 'Rename one of them (the key under `tables`, the projection `to`, or `audit_table`).',
        details: { database: service.database, table: key, uses: [first, what] },
      });
    };
    for (const route of routes.filter((r) => r.service === service.name)) {
      const projection = route.kind === 'projection';
      const path = projection
        ? `${plan.projections.find((p) => p.service === service.name && p.table === route.target.name)?.path ?? 'projections'}.to`
        : (service.tables.find((t) => t.name === route.target.name)?.path ?? service.path);
      claim(route.target, `${projection ? 'projection of' : 'table from'} ${tableKey(route.source)}`, path);
      // Partitions keep their source names in the target.
      for (const p of route.partitionTree ?? []) {
        claim(p.table, `partition ${tableKey(p.table)} of ${tableKey(route.source)}`, path);
      }
    }
    if (service.auditTable) {
      claim({ schema: 'public', name: service.auditTable }, 'the audit table', `${service.path}.audit_table`);
    }
  }
  return problems;
}

/** Where a monolith table lands: its owned route, and the target table (a partition keeps its name). */
interface Landing {
  route: TableRoute;
  table: TableRef;
}

function classifyForeignKeys(
  placement: Placement,
  routes: TableRoute[],
): { kept: KeptForeignKey[]; cut: CutForeignKey[]; fkProblems: PlanProblem[]; fkWarnings: PlanWarning[] } {
  const kept: KeptForeignKey[] = [];
  const cut: CutForeignKey[] = [];
  const fkProblems: PlanProblem[] = [];
  const fkWarnings: PlanWarning[] = [];
  const owned = routes.filter((r) => r.kind === 'owned');
  const landing = new Map<string, Landing>();
  for (const route of owned) {
    landing.set(tableKey(route.source), { route, table: route.target });
    for (const p of route.partitionTree ?? []) {
      landing.set(tableKey(p.table), { route, table: { schema: p.table.schema, name: p.table.name } });
    }
  }
  const placementOf = new Map(placement.owned.map((p) => [tableKey(p.table), p]));
  const targetName = (route: TableRoute, source: string) =>
    route.columns.find((c) => c.source === source)?.target;

  for (const from of owned) {
    // The table's own keys, then those declared on its partitions (columns are the table's).
    const declaring = [
      { table: from.sourceTable, at: from.target },
      ...(from.partitionTree ?? []).map((p) => ({
        table: p.table,
        at: { schema: p.table.schema, name: p.table.name },
      })),
    ];
    for (const { table, at } of declaring) {
      for (const fk of table.foreignKeys) {
        const to = landing.get(tableKey(fk.references));
        const label = `${tableKey(fk.table)} → ${tableKey(fk.references)}`;
        if (!to) {
          fkWarnings.push({
            code: 'FK_NOT_MIGRATED',
            message: `Foreign key ${fk.name} (${label}) is dropped: ${tableKey(fk.references)} is not migrated`,
            table: from.source,
          });
          continue;
        }
        const fromColumns = fk.columns.map((c) => targetName(from, c));
        if (fromColumns.some((c) => c === undefined)) {
          fkWarnings.push({
            code: 'FK_NOT_MIGRATED',
            message: `Foreign key ${fk.name} (${label}) is dropped with its column(s) ${fk.columns.join(', ')}`,
            table: from.source,
          });
          continue;
        }
        const toColumns = fk.referencedColumns.map((c) => targetName(to.route, c));
        const missing = fk.referencedColumns.filter((_, i) => toColumns[i] === undefined);
        if (missing.length > 0) {
          const owner = placementOf.get(tableKey(to.route.source))!;
          for (const column of missing) {
            fkProblems.push({
              code: PlanProblemCode.droppedColumnNeeded,
              path: owner.planTable.drop.find((d) => d.name === column)?.path ?? owner.planTable.path,
              object: `${tableKey(fk.references)}.${column}`,
              message: `Column ${column} of ${tableKey(fk.references)} cannot be dropped: foreign key ${fk.name} from ${tableKey(fk.table)} references it`,
              hint: `Keep the column, or drop ${fk.columns.join(', ')} from ${tableKey(fk.table)} as well.`,
              details: { table: tableKey(fk.references), column, neededBy: [`foreign key ${fk.name}`] },
            });
          }
          continue;
        }
        // One service, one database: two services never share one (plan check), so same service ⇔ same database.
        if (from.service === to.route.service) {
          kept.push({
            name: fk.name,
            database: from.database,
            from: at,
            columns: fromColumns as string[],
            to: to.table,
            toColumns: toColumns as string[],
            source: fk,
            fromPartitioned: table.partitionKey !== undefined,
          });
        } else {
          cut.push({
            name: fk.name,
            from: { routeId: from.id, database: from.database, table: at, columns: fromColumns as string[] },
            to: {
              routeId: to.route.id,
              database: to.route.database,
              table: to.table,
              columns: toColumns as string[],
            },
            source: fk,
          });
        }
      }
    }
  }
  return { kept, cut, fkProblems, fkWarnings };
}
