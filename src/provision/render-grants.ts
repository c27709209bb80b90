import type { Catalog, CatalogSequence, TableRef } from '../catalog/model.js';
import { quoteIdent, quoteIdentList, quoteLiteral, quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { ORIGIN_FUNCTIONS } from '../sync/replication-origin.js';

const qt = (t: TableRef) => quoteQualified(t.schema, t.name);

/**
 * Privileges of one service database (docs/security.md has the whole picture). Nobody but the
 * admin and the granted roles may connect (CONNECT is revoked from PUBLIC).
 *
 * - A writable service database: its role connects, owns its tables (and with them their
 *   sequences and partitions) and the audit table, may create objects in the schemas it uses,
 *   and only reads its projections. carve's role (a member of the service role, so it has the
 *   service's rights on those tables) owns the projections and carve's state schema `carve`: the
 *   service can neither write them nor plant anything on them. The database itself stays the
 *   admin's.
 * - A readonly database (shared_db): every service role connects and reads every table; carve's
 *   role owns them (it loads, applies, indexes them); no service role writes or creates anything.
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
  const carve = quoteIdent(service.carveRole);
  const state = quoteIdent(routing.names.stateSchema);
  const statements = [
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
    `REVOKE ALL ON SCHEMA ${state} FROM PUBLIC`,
    `GRANT CONNECT ON DATABASE ${db} TO ${carve}`,
    `ALTER SCHEMA ${state} OWNER TO ${carve}`,
    ownStateTables(routing.names.stateSchema, service.carveRole),
    // The applier writes under a replication origin; exactly the functions it calls. Not
    // pg_replication_origin_advance nor _drop: origins are server-wide, those would let one
    // database's role move or remove another's.
    ...ORIGIN_FUNCTIONS.map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO ${carve}`),
  ];
  const schemas = [
    ...new Set(service.tables.map((r) => r.target.schema).concat(service.auditTable?.schema ?? [])),
  ].sort();

  if (service.readonly) {
    // Roles live per server: a service on another server has no role here to grant to.
    const here = routing.services.filter(
      (s) => (s.serverUrl ?? s.adminUrl) === (service.serverUrl ?? service.adminUrl),
    );
    const readers = quoteIdentList([...new Set(here.map((s) => s.role))]);
    statements.push(`GRANT CONNECT ON DATABASE ${db} TO ${readers}`);
    for (const schema of schemas) {
      statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${readers}`);
      // CREATE: indexes built after the load need it in the table's schema.
      statements.push(`GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(schema)} TO ${carve}`);
    }
    for (const route of service.tables) {
      const partitions = route.kind === 'owned' ? partitionsOf(route.source, catalog) : [];
      for (const t of [route.target, ...partitions]) {
        statements.push(`ALTER TABLE ${qt(t)} OWNER TO ${carve}`);
        statements.push(`GRANT SELECT ON TABLE ${qt(t)} TO ${readers}`);
      }
    }
    for (const s of sequences) {
      if (!ownedByRoute(service, s))
        statements.push(`GRANT USAGE, SELECT, UPDATE ON SEQUENCE ${qt(s)} TO ${carve}`);
    }
    if (service.auditTable) statements.push(`GRANT SELECT ON TABLE ${qt(service.auditTable)} TO ${readers}`);
    return statements;
  }

  statements.push(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role}`);
  for (const schema of schemas) {
    statements.push(`GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(schema)} TO ${role}`);
    statements.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${carve}`);
  }
  for (const route of service.tables) {
    if (route.kind === 'projection') {
      statements.push(`ALTER TABLE ${qt(route.target)} OWNER TO ${carve}`);
      statements.push(`GRANT SELECT ON TABLE ${qt(route.target)} TO ${role}`);
      continue;
    }
    // Owner changes do not recurse into partitions; owned sequences follow their table.
    for (const t of [route.target, ...partitionsOf(route.source, catalog)]) {
      statements.push(`ALTER TABLE ${qt(t)} OWNER TO ${role}`);
    }
  }
  for (const s of sequences) {
    if (ownedByRoute(service, s)) continue; // it changed owner with its table
    statements.push(`GRANT USAGE, SELECT, UPDATE ON SEQUENCE ${qt(s)} TO ${role}`);
  }
  if (service.auditTable) statements.push(`ALTER TABLE ${qt(service.auditTable)} OWNER TO ${role}`);
  return statements;
}

/** A sequence owned by a column of one of this database's owned tables. */
function ownedByRoute(service: ServiceRoute, s: CatalogSequence): boolean {
  const owner = s.ownedBy;
  return service.tables.some(
    (r) =>
      r.kind === 'owned' &&
      owner !== undefined &&
      r.source.schema === owner.schema &&
      r.source.name === owner.name &&
      r.columns.some((c) => c.source === owner.column),
  );
}

/**
 * carve's state tables belong to carve's role, which creates them (and later versions of them)
 * in its own schema. Tables an older provision left to the admin are handed over here; nothing
 * else can create tables in that schema.
 */
function ownStateTables(stateSchema: string, carveRole: string): string {
  return (
    `DO $carve$ DECLARE t regclass; BEGIN FOR t IN SELECT c.oid FROM pg_catalog.pg_class c ` +
    `WHERE c.relnamespace = ${quoteLiteral(quoteIdent(stateSchema))}::regnamespace AND c.relkind IN ('r', 'p') ` +
    `LOOP EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', t, ${quoteLiteral(carveRole)}); END LOOP; END $carve$`
  );
}

/** Every partition below a table (intermediate and leaves); they keep their source names. */
export function partitionsOf(table: TableRef, catalog: Catalog): TableRef[] {
  return catalog.tables
    .filter((c) => c.parent && c.parent.schema === table.schema && c.parent.name === table.name)
    .flatMap((c) => [{ schema: c.schema, name: c.name }, ...partitionsOf(c, catalog)]);
}
