import { CarveError } from '../errors.js';
import { atService, withSession } from '../pg/connect.js';
import type { Routing, TableRoute } from '../routing/model.js';
import { similar } from '../routing/table-resolver.js';
import { SyncState } from '../sync/state.js';

/** The routes (owner first, then projections) of the monolith table `name` (`schema.table` or `table`). */
export function resyncRoutes(routing: Routing, name: string): TableRoute[] {
  const dot = name.indexOf('.');
  const schema = dot === -1 ? undefined : name.slice(0, dot);
  const table = dot === -1 ? name : name.slice(dot + 1);
  const matches = routing.routes.filter(
    (r) => r.source.name === table && (schema === undefined || r.source.schema === schema),
  );
  const sources = new Set(matches.map((r) => `${r.source.schema}.${r.source.name}`));
  const preferred =
    schema === undefined && sources.size > 1 ? matches.filter((r) => r.source.schema === 'public') : matches;
  if (preferred.length === 0 || new Set(preferred.map((r) => r.source.schema)).size > 1) {
    const known = [
      ...new Set(
        routing.routes.filter((r) => r.kind === 'owned').map((r) => `${r.source.schema}.${r.source.name}`),
      ),
    ];
    // A typo (`consultatons`): name the moving tables it is close to, as the plan check does.
    const near = sources.size > 1 ? [] : known.filter((k) => similar(k.slice(k.indexOf('.') + 1), table));
    throw new CarveError(
      'RESYNC_UNKNOWN_TABLE',
      `The plan routes no monolith table ${name}${sources.size > 1 ? ' (ambiguous: give the schema)' : ''}`,
      {
        details: { table: name, candidates: [...sources] },
        hint: near.length
          ? `Did you mean ${near.slice(0, 3).join(' or ')}? Name a moving table of the plan as schema.table.`
          : `Name a moving table of the plan as schema.table, e.g. ${known.slice(0, 3).join(', ')}.`,
      },
    );
  }
  return [...preferred].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'owned' ? -1 : 1));
}

/** Every database of the routes has finished its copy of this migration (sync could run there). */
export async function checkResyncPreconditions(
  routing: Routing,
  routes: readonly TableRoute[],
): Promise<void> {
  const state = new SyncState(routing.names.stateSchema, routing.names.migration);
  for (const database of new Set(routes.map((r) => r.database))) {
    const service = routing.services.find((s) => s.database === database)!;
    const migration = await withSession(atService(service.url), (client) => state.readMigration(client));
    if (!migration?.copyFinished) {
      throw new CarveError(
        'SYNC_COPY_UNFINISHED',
        `The copy into ${database} has not finished: nothing to resync yet`,
        {
          details: { database },
          hint: 'Run carve copy (it copies every table, this one included) first.',
        },
      );
    }
  }
}
