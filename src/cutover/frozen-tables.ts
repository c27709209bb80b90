import type { ServiceRoute } from '../routing/model.js';
import type { TableRef } from '../catalog/model.js';

/** The monolith tables frozen at a service's cutover: its owned tables and their leaf partitions. */
/** One table under a freeze and what its writers are told. */
export interface FrozenTable {
  table: TableRef;
  /** The error message a writer gets: "table patients moved to patient_db". */
  message: string;
  hint: string;
}

export function frozenMonolithTables(service: ServiceRoute): FrozenTable[] {
  const seen = new Set<string>();
  const out: FrozenTable[] = [];
  for (const route of service.tables.filter((r) => r.kind === 'owned')) {
    for (const table of [route.source, ...route.sourcePartitions]) {
      const key = JSON.stringify([table.schema, table.name]);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        table,
        message: `table ${table.name} moved to ${service.database}`,
        hint: `Service ${service.name} was cut over: write to ${route.target.schema}.${route.target.name} in database ${service.database}.`,
      });
    }
  }
  return out;
}

/**
 * The service's tables frozen in its own database by a rollback (partitions keep their names in
 * the target, so the leaves are the monolith's).
 */
export function frozenServiceTables(service: ServiceRoute): FrozenTable[] {
  const out: FrozenTable[] = [];
  for (const route of service.tables.filter((r) => r.kind === 'owned')) {
    for (const table of [route.target, ...route.sourcePartitions]) {
      out.push({
        table,
        message: `table ${table.name} is served by the monolith again (service ${service.name} was rolled back)`,
        hint: `Write to ${route.source.schema}.${route.source.name} in the monolith; carve cutover --service ${service.name} moves it here again.`,
      });
    }
  }
  return out;
}
