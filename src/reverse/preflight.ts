import { CarveError } from '../errors.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { ownedRoutes } from './reverse-routing.js';

/** A monolith column the reverse stream cannot fill: dropped by the plan, NOT NULL, no default. */
export interface UnfillableColumn {
  table: string;
  column: string;
}

/**
 * What must hold before a reverse stream is set up for a service (before any write): every
 * column of its tables that the plan dropped can be left out of an INSERT into the monolith — it
 * is nullable, or has a default (identity and generated columns fill themselves). Otherwise a row
 * the service inserts could never reach the monolith: REVERSE_DROPPED_NOT_NULL, naming them all.
 */
export function checkReversePreconditions(routing: Routing, service: ServiceRoute): void {
  const unfillable: UnfillableColumn[] = [];
  for (const route of ownedRoutes(routing, service)) {
    const columns = new Map(route.sourceTable.columns.map((c) => [c.name, c]));
    for (const name of route.droppedColumns ?? []) {
      const column = columns.get(name);
      if (!column || !column.notNull) continue;
      if (column.default !== undefined || column.identity !== undefined || column.generated !== undefined)
        continue;
      unfillable.push({ table: `${route.source.schema}.${route.source.name}`, column: name });
    }
  }
  if (unfillable.length === 0) return;
  const list = unfillable.map((u) => `${u.table}.${u.column}`).join(', ');
  throw new CarveError(
    'REVERSE_DROPPED_NOT_NULL',
    `Rows inserted in ${service.database} cannot reach the monolith: ${list} ${unfillable.length === 1 ? 'is' : 'are'} dropped by the plan, NOT NULL and without default`,
    {
      details: { service: service.name, database: service.database, columns: unfillable },
      hint: `On the monolith, give ${unfillable.length === 1 ? 'that column' : 'those columns'} a default (ALTER TABLE … ALTER COLUMN … SET DEFAULT …) or drop NOT NULL, then run the command again.`,
    },
  );
}
