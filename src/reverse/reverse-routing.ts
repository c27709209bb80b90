import type { CatalogColumn } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { databaseOf, type Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import type { ReverseRegistration } from './state.js';

/** The monolith's database name, as the reverse stream's single target is called. */
export function monolithDatabase(routing: Routing): string {
  return databaseOf(routing.sourceUrl) ?? 'monolith';
}

/** The routes a service owns (its own tables; not the projections placed in its database). */
export function ownedRoutes(routing: Routing, service: ServiceRoute): TableRoute[] {
  return routing.routes.filter((r) => r.kind === 'owned' && r.service === service.name);
}

/** The service of the plan called `name`, or a coded usage error naming the known ones. */
export function findService(routing: Routing, name: string): ServiceRoute {
  const service = routing.services.find((s) => s.name === name || s.database === name);
  if (service) return service;
  throw new CarveError('UNKNOWN_SERVICE', `The plan has no service ${name}`, {
    details: { service: name, services: routing.services.map((s) => s.name) },
    hint: `Name one of the plan's services: ${routing.services.map((s) => s.name).join(', ')}.`,
  });
}

/**
 * The routing of one service's reverse stream, in the shape the sync engine streams: its source is
 * the service database (slot and publication of the registration), its one target "service" is the
 * monolith, and every owned route is turned around — the service's table and column names map
 * back to the monolith's (the plan's renames). Columns the plan dropped are in no route: an UPDATE
 * leaves them as they are in the monolith, an INSERT gives them their default (preflight refuses
 * a NOT NULL one without default).
 *
 * The column types of the service tables are read from the service database (`client`): a type a
 * service database defines itself (an enum, a domain) has another oid there than on the monolith,
 * and the stream's Relation messages are checked against these.
 */
export async function reverseRouting(
  routing: Routing,
  service: ServiceRoute,
  registration: Pick<ReverseRegistration, 'slot' | 'publication'>,
  client: Client,
): Promise<Routing> {
  const database = monolithDatabase(routing);
  const routes: TableRoute[] = [];
  for (const route of ownedRoutes(routing, service)) {
    const columns = await serviceColumns(client, route, service.name);
    const toService = new Map(route.columns.map((c) => [c.source, c.target]));
    routes.push({
      id: `${database}/${route.source.schema}.${route.source.name}`,
      kind: 'owned',
      service: database,
      database,
      source: route.target,
      target: route.source,
      columns: route.columns.map((c) => ({
        source: c.target,
        target: c.source,
        type: c.type,
        generated: c.generated,
      })),
      key: route.key.map((k) => toService.get(k) ?? k),
      sourcePartitions: route.sourcePartitions,
      ...(route.partitionTree ? { partitionTree: route.partitionTree } : {}),
      readonly: false,
      sourceTable: {
        ...route.sourceTable,
        schema: route.target.schema,
        name: route.target.name,
        columns,
      },
    });
  }
  const monolith: ServiceRoute = {
    name: database,
    database,
    url: routing.sourceUrl,
    adminUrl: routing.sourceUrl,
    role: '',
    carveRole: new URL(routing.sourceUrl).username || 'the monolith user',
    readonly: false,
    tables: routes,
    loadOrder: routes.map((r) => r.id),
    keptForeignKeys: [],
  };
  return {
    names: {
      migration: routing.names.migration,
      slot: registration.slot,
      publication: registration.publication,
      stateSchema: routing.names.stateSchema,
    },
    sourceUrl: service.adminUrl,
    services: [monolith],
    routes,
    cutForeignKeys: [],
    excluded: [],
    warnings: [],
    schemaChanges: 'stop',
  };
}

/** The columns of a route's table in the service database, as the catalog model has them. */
async function serviceColumns(client: Client, route: TableRoute, service: string): Promise<CatalogColumn[]> {
  const { rows } = await client.query(
    `SELECT a.attname AS name, a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.atttypid::int AS type_oid, a.attnotnull AS not_null
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [quoteQualified(route.target.schema, route.target.name)],
  );
  if (rows.length === 0) {
    throw new CarveError(
      'REVERSE_TABLE_MISSING',
      `Table ${route.target.schema}.${route.target.name} is missing in ${route.database}`,
      {
        details: { database: route.database, table: `${route.target.schema}.${route.target.name}` },
        // Only a cut-over service has a reverse stream: its database was provisioned and copied, so
        // the table went away since (renamed or dropped by hand). carve provision would create it
        // empty, and the monolith would then lose its rows to the service's next writes.
        hint: `${service} is cut over and carve streams its tables back into the monolith by the plan's names: put ${route.target.schema}.${route.target.name} back in ${route.database} under that name (a renamed table: ALTER TABLE … RENAME TO ${route.target.name}), then start carve sync again.`,
      },
    );
  }
  return rows.map((r) => ({
    name: r.name,
    attnum: r.attnum,
    type: r.type,
    typeOid: r.type_oid,
    notNull: r.not_null,
    storage: 'x',
  }));
}
