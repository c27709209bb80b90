import { CarveError } from '../errors.js';
import type { Routing, TableRoute } from '../routing/model.js';
import { buildRouteShape, readSideColumns, type RouteShape, type SideColumn } from './route-shape.js';
import type { SnapshotPool } from './snapshot-pool.js';

/** Routes named by `tables` (target or source name, qualified or not, or route id); all when absent. */
export function selectRoutes(routing: Routing, tables: readonly string[] | undefined): TableRoute[] {
  if (!tables || tables.length === 0) return [...routing.routes];
  const names = (r: TableRoute) => [
    r.id,
    `${r.target.schema}.${r.target.name}`,
    r.target.name,
    `${r.source.schema}.${r.source.name}`,
    r.source.name,
    `${r.database}.${r.target.name}`,
  ];
  const unknown = tables.filter((t) => !routing.routes.some((r) => names(r).includes(t)));
  if (unknown.length) {
    throw new CarveError('VERIFY_UNKNOWN_TABLE', `No routed table is called ${unknown.join(', ')}`, {
      details: { tables: unknown },
      hint: 'Name tables as in the plan (target or monolith name, optionally schema-qualified); carve plan lists them.',
    });
  }
  return routing.routes.filter((r) => names(r).some((n) => tables.includes(n)));
}

/** Routes fed by the same monolith table, owner first: one source scan serves them all. */
export function groupBySource(routes: readonly TableRoute[]): TableRoute[][] {
  const groups = new Map<string, TableRoute[]>();
  for (const r of routes) {
    const key = JSON.stringify([r.source.schema, r.source.name]);
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) =>
    g.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'owned' ? -1 : 1)),
  );
}

export async function readShapes(
  routes: readonly TableRoute[],
  source: SnapshotPool,
  targets: ReadonlyMap<string, SnapshotPool>,
): Promise<Map<string, RouteShape>> {
  const sourceColumns = new Map<string, Map<string, SideColumn> | undefined>();
  const shapes = new Map<string, RouteShape>();
  for (const route of routes) {
    const key = JSON.stringify([route.source.schema, route.source.name]);
    if (!sourceColumns.has(key))
      sourceColumns.set(key, await source.use((c) => readSideColumns(c, route.source)));
    const target = await targets.get(route.database)!.use((c) => readSideColumns(c, route.target));
    shapes.set(route.id, buildRouteShape(route, sourceColumns.get(key), target));
  }
  return shapes;
}
