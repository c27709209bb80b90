import type { Catalog, CatalogSequence, TableRef } from '../catalog/model.js';
import { quoteIdent, quoteIdentList, quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute } from '../routing/model.js';

const qt = (t: TableRef) => quoteQualified(t.schema, t.name);

/**
 * Privileges of one service database. Nobody but the admin and the granted roles may connect
 * (CONNECT is revoked from PUBLIC); carve's state schema is the admin's alone.
 *
 * - A writable service database: its role connects, owns its tables (and with them their
 *   sequences and partitions) and the audit table, may create objects in the schemas it uses,
 *   and only reads its projections. The database itself stays the admin's, so the role cannot
 *   drop projections or carve's state.
 * - A readonly database (shared_db): every service role connects and reads every table; no role
 *   owns or writes anything.
 *
 * Every statement is idempotent; provision re-applies them on each run.
 */
export function renderGrants(
  routing: Routing,
  service: ServiceRoute,
  catalog: Catalog,
  sequences: CatalogSequence[],
): string[] {
  const db = quoteIdent(service.database);
  const role = quoteIdent(service.role);
  const state = quoteIdent(routing.names.stateSchema);
  const statements = [
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
    `REVOKE ALL ON SCHEMA ${state} FROM PUBLIC`,
  ];
  const schemas = [
    ...new Set(service.tables.map((r) => r.target.schema).concat(service.auditTable?.schema ?? [])),
  ].sort();

  if (service.readonly) {
    // Roles live per server: a service on another server has no role here to grant to.
    const here = routing.services.filter(
      (s) => (s.serverUrl ?? s.url) === (service.serverUrl ?? service.url),
    );
    const readers = quoteIdentList([...new Set(here.map((s) => s.role))]);
    statements.push(`GRANT CONNECT ON DATABASE ${db} TO ${readers}`);
    for (const schema of schemas)
      statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${readers}`);
    for (const route of service.tables) {
      const partitions = route.kind === 'owned' ? partitionsOf(route.source, catalog) : [];
      for (const t of [route.target, ...partitions]) {
        statements.push(`GRANT SELECT ON TABLE ${qt(t)} TO ${readers}`);
      }
    }
    if (service.auditTable) statements.push(`GRANT SELECT ON TABLE ${qt(service.auditTable)} TO ${readers}`);
    return statements;
  }

  statements.push(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role}`);
  for (const schema of schemas)
    statements.push(`GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(schema)} TO ${role}`);
  for (const route of service.tables) {
    if (route.kind === 'projection') {
      statements.push(`GRANT SELECT ON TABLE ${qt(route.target)} TO ${role}`);
      continue;
    }
    // Owner changes do not recurse into partitions; owned sequences follow their table.
    for (const t of [route.target, ...partitionsOf(route.source, catalog)]) {
      statements.push(`ALTER TABLE ${qt(t)} OWNER TO ${role}`);
    }
  }
  for (const s of sequences) {
    // A sequence owned by one of these tables changed owner with it.
    const owner = s.ownedBy;
    const ownedHere = service.tables.some(
      (r) =>
        r.kind === 'owned' &&
        owner &&
        r.source.schema === owner.schema &&
        r.source.name === owner.name &&
        r.columns.some((c) => c.source === owner.column),
    );
    if (ownedHere) continue;
    statements.push(`GRANT USAGE, SELECT, UPDATE ON SEQUENCE ${qt(s)} TO ${role}`);
  }
  if (service.auditTable) statements.push(`ALTER TABLE ${qt(service.auditTable)} OWNER TO ${role}`);
  return statements;
}

/** Every partition below a table (intermediate and leaves); they keep their source names. */
export function partitionsOf(table: TableRef, catalog: Catalog): TableRef[] {
  return catalog.tables
    .filter((c) => c.parent && c.parent.schema === table.schema && c.parent.name === table.name)
    .flatMap((c) => [{ schema: c.schema, name: c.name }, ...partitionsOf(c, catalog)]);
}
