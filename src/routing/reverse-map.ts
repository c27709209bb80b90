import type { TableRef } from '../catalog/model.js';
import type { Routing, TableRoute } from './model.js';

/**
 * The way back: for the tables a service owns, which monolith table and column each service table
 * and column came from. Used by everything that writes a service's rows into the monolith (recover,
 * the reverse stream), so the plan's renames are undone in one place.
 *
 * Only owned routes are mapped: projections are read-only copies fed from the monolith, never a
 * source of truth. Generated columns are left out of `columns` (the monolith recomputes them), and
 * the monolith columns the plan dropped are listed in `untouched`: a row written back keeps
 * whatever the monolith holds there (an insert gets the column's default).
 */
export interface ReverseColumn {
  /** Column name in the service database. */
  service: string;
  /** Column name in the monolith. */
  monolith: string;
  type: string;
}

export interface ReverseTable {
  routeId: string;
  service: string;
  database: string;
  /** The table in the service database (a partitioned parent for partitioned tables). */
  serviceTable: TableRef;
  /** The table in the monolith it is written back to. */
  monolithTable: TableRef;
  /** Writable columns in the service table's column order (generated ones left out). */
  columns: ReverseColumn[];
  /** The row key: service names and, at the same positions, monolith names. */
  key: { service: string[]; monolith: string[] };
  /** Monolith columns the service does not have (the plan's `drop`): never written back. */
  untouched: string[];
  /** Generated columns (monolith names): recomputed by the monolith, never written. */
  generated: string[];
  /** Partitions of a partitioned table (same schema and name on both sides), else empty. */
  partitions: TableRef[];
}

export interface ReverseMap {
  service: string;
  database: string;
  /** In the service's load order (referenced tables before referencing ones). */
  tables: ReverseTable[];
}

const refKey = (t: TableRef) => `${t.schema}\u0000${t.name}`;

/** The reverse mapping of one service's owned tables. Throws on an unknown service name. */
export function reverseMapOf(routing: Routing, serviceName: string): ReverseMap {
  const service = routing.services.find((s) => s.name === serviceName);
  if (!service) throw new Error(`unknown service ${serviceName}`);
  const order = new Map(service.loadOrder.map((id, i) => [id, i]));
  const owned = service.tables
    .filter((r) => r.kind === 'owned')
    .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { service: service.name, database: service.database, tables: owned.map(reverseTableOf) };
}

export function reverseTableOf(route: TableRoute): ReverseTable {
  if (route.kind !== 'owned') throw new Error(`route ${route.id} is a projection: it has no way back`);
  const toService = new Map(route.columns.map((c) => [c.source, c.target]));
  const serviceKey = route.key.map((k) => {
    const name = toService.get(k);
    if (name === undefined) throw new Error(`route ${route.id}: key column ${k} is not migrated`);
    return name;
  });
  return {
    routeId: route.id,
    service: route.service,
    database: route.database,
    serviceTable: route.target,
    monolithTable: route.source,
    columns: route.columns
      .filter((c) => !c.generated)
      .map((c) => ({ service: c.target, monolith: c.source, type: c.type })),
    key: { service: serviceKey, monolith: [...route.key] },
    untouched: [...(route.droppedColumns ?? [])],
    generated: route.columns.filter((c) => c.generated).map((c) => c.source),
    partitions: partitionsOf(route),
  };
}

function partitionsOf(route: TableRoute): TableRef[] {
  const seen = new Map<string, TableRef>();
  for (const p of route.partitionTree ?? [])
    seen.set(refKey(p.table), { schema: p.table.schema, name: p.table.name });
  for (const p of route.sourcePartitions) seen.set(refKey(p), { schema: p.schema, name: p.name });
  return [...seen.values()];
}

/**
 * Find the entry of a service table: the table itself or, for partitioned tables, one of its
 * partitions (which keep their monolith schema and name in the service database).
 */
export function reverseTableFor(map: ReverseMap, serviceTable: TableRef): ReverseTable | undefined {
  const wanted = refKey(serviceTable);
  return (
    map.tables.find((t) => refKey(t.serviceTable) === wanted) ??
    map.tables.find((t) => t.partitions.some((p) => refKey(p) === wanted))
  );
}

/**
 * A service row (keyed by service column names) as a monolith row (keyed by monolith column
 * names). Generated columns and columns unknown to the mapping are left out.
 */
export function toMonolithRow(table: ReverseTable, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) if (c.service in row) out[c.monolith] = row[c.service];
  return out;
}
