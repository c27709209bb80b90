import type { Catalog, CatalogDomain, CatalogEnum, CatalogSequence, TableRef } from '../catalog/model.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import type { DatabaseDdl, DdlObject, ProvisionScript } from './ddl-model.js';
import { renderGrants } from './render-grants.js';
import {
  findSequence,
  renderAuditTable,
  renderOwnedTable,
  renderProjectionTable,
  renderSequence,
} from './render-table.js';
import { parseRenderedName } from './sql-text.js';

/** Extensions every database already has. */
const BUILTIN_EXTENSIONS = new Set(['plpgsql']);

const q = (t: TableRef) => `${t.schema}.${t.name}`;

/**
 * Render everything `provision` creates, in order: login roles, then per service database its
 * state schema, schemas, extensions, enums, domains, sequences, tables (owned and projections),
 * audit table, and the grants. Pure: the same catalog, routing and role secrets give the same SQL.
 *
 * `roleSecrets` maps a role to the SCRAM verifier to store (never the password itself).
 */
export function renderProvisionScript(
  catalog: Catalog,
  routing: Routing,
  roleSecrets: ReadonlyMap<string, string>,
): ProvisionScript {
  const role = (name: string, attributes: string): Extract<DdlObject, { kind: 'role' }> => {
    const secret = roleSecrets.get(name);
    return {
      kind: 'role',
      name,
      role: name,
      statements: [
        `CREATE ROLE ${quoteIdent(name)} ${attributes}${secret ? ` PASSWORD ${quoteLiteral(secret)}` : ''}`,
      ],
    };
  };
  const roles = routing.services.flatMap((s) => [
    role(s.role, 'LOGIN'),
    // Spelled out: carve's role must never hold more than the service's rights (docs/security.md).
    role(s.carveRole, 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT'),
  ]);
  const roleGrants = routing.services.map((s) => ({ service: s, statements: renderRoleGrants(s) }));
  const databases = routing.services.map((s) => renderDatabase(catalog, routing, s));
  return { roles, roleGrants, databases };
}

/**
 * carve's role of a writable database is a member of the service role: it then has exactly the
 * service's rights on the service's tables (it owns them through the membership, so it can load,
 * apply, index and analyze them), and nothing the service does not have — except what
 * renderGrants adds in that one database. In a readonly database carve's role owns the tables
 * itself and is nobody's member.
 * Applying with session_replication_role = replica (foreign keys and triggers off, as PostgreSQL's
 * own apply workers do) needs SET on that parameter, which PostgreSQL 15 grants per role.
 */
export function renderRoleGrants(service: ServiceRoute): string[] {
  const carve = quoteIdent(service.carveRole);
  return [
    ...(service.readonly ? [] : [`GRANT ${quoteIdent(service.role)} TO ${carve}`]),
    `GRANT SET ON PARAMETER session_replication_role TO ${carve}`,
  ];
}

function renderDatabase(catalog: Catalog, routing: Routing, service: ServiceRoute): DatabaseDdl {
  const objects: DdlObject[] = [];
  const state = routing.names.stateSchema;
  objects.push({
    kind: 'schema',
    name: state,
    schema: state,
    statements: [
      `CREATE SCHEMA ${quoteIdent(state)}`,
      `REVOKE ALL ON SCHEMA ${quoteIdent(state)} FROM PUBLIC`,
    ],
  });

  const routes = service.tables;
  const enums = new Map<string, CatalogEnum>();
  const domains = new Map<string, CatalogDomain>();
  const sequences = new Map<string, CatalogSequence>();
  const addType = (ref: { schema: string; name: string; kind: string } | undefined) => {
    if (!ref) return;
    const e = catalog.enums.find((x) => x.schema === ref.schema && x.name === ref.name);
    if (e) enums.set(q(e), e);
    const d = catalog.domains.find((x) => x.schema === ref.schema && x.name === ref.name);
    if (d && !domains.has(q(d))) {
      domains.set(q(d), d);
      // A domain over an enum or another domain needs that type too.
      const base = parseRenderedName(d.baseType);
      if (base.schema) addType({ schema: base.schema, name: base.name, kind: 'base' });
    }
  };
  for (const route of routes) {
    for (const rc of route.columns) {
      const column = route.sourceTable.columns.find((c) => c.name === rc.source)!;
      addType(column.userType);
      if (route.kind === 'owned' && column.sequence && !column.identity) {
        const sequence = findSequence(catalog, column.sequence);
        if (sequence) sequences.set(q(sequence), sequence);
      }
    }
  }

  const schemas = new Set<string>();
  for (const route of routes) schemas.add(route.target.schema);
  for (const route of routes) for (const p of partitionSchemas(route, catalog)) schemas.add(p);
  for (const t of [...enums.values(), ...domains.values(), ...sequences.values()]) schemas.add(t.schema);
  const extensions = catalog.extensions.filter((x) => !BUILTIN_EXTENSIONS.has(x.name));
  for (const x of extensions) schemas.add(x.schema);
  if (service.auditTable) schemas.add(service.auditTable.schema);
  schemas.delete('public');
  schemas.delete(state);
  for (const schema of [...schemas].sort()) {
    objects.push({
      kind: 'schema',
      name: schema,
      schema,
      statements: [`CREATE SCHEMA ${quoteIdent(schema)}`],
    });
  }
  for (const x of extensions) {
    objects.push({
      kind: 'extension',
      name: x.name,
      extension: x.name,
      schema: x.schema,
      statements: [
        `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(x.name)} WITH SCHEMA ${quoteIdent(x.schema)}`,
      ],
    });
  }
  for (const e of [...enums.values()].sort(byName)) {
    objects.push({
      kind: 'enum',
      name: q(e),
      type: e,
      statements: [
        `CREATE TYPE ${quoteQualified(e.schema, e.name)} AS ENUM (${e.labels.map(quoteLiteral).join(', ')})`,
      ],
    });
  }
  for (const d of orderDomains([...domains.values()].sort(byName))) {
    objects.push({ kind: 'domain', name: q(d), type: d, statements: renderDomain(d) });
  }
  for (const s of [...sequences.values()].sort(byName)) {
    objects.push({ kind: 'sequence', name: q(s), sequence: s, statements: renderSequence(s) });
  }
  const ordered = service.loadOrder.map((id) => routes.find((r) => r.id === id)!);
  for (const route of ordered) {
    objects.push({
      kind: 'table',
      name: q(route.target),
      route,
      statements: route.kind === 'owned' ? renderOwnedTable(route, catalog) : renderProjectionTable(route),
    });
  }
  if (service.auditTable) {
    objects.push({
      kind: 'audit-table',
      name: q(service.auditTable),
      table: service.auditTable,
      statements: renderAuditTable(service.auditTable),
    });
  }
  return {
    service,
    database: {
      kind: 'database',
      name: service.database,
      database: service.database,
      statements: [`CREATE DATABASE ${quoteIdent(service.database)}`],
    },
    objects,
    grants: renderGrants(routing, service, catalog, [...sequences.values()]),
  };
}

function renderDomain(d: CatalogDomain): string[] {
  const name = quoteQualified(d.schema, d.name);
  let create = `CREATE DOMAIN ${name} AS ${d.baseType}`;
  if (d.default !== undefined) create += ` DEFAULT ${d.default}`;
  if (d.notNull) create += ' NOT NULL';
  const statements = [create];
  for (const check of d.checks) {
    statements.push(`ALTER DOMAIN ${name} ADD CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`);
  }
  return statements;
}

/** Domains over other domains come after them. */
function orderDomains(domains: CatalogDomain[]): CatalogDomain[] {
  const out: CatalogDomain[] = [];
  const pending = [...domains];
  while (pending.length > 0) {
    const index = pending.findIndex((d) => {
      const base = parseRenderedName(d.baseType);
      return !pending.some((o) => o !== d && o.name === base.name && (base.schema ?? o.schema) === o.schema);
    });
    out.push(...pending.splice(index < 0 ? 0 : index, 1));
  }
  return out;
}

/** Partitions keep their source schema, which may differ from the parent's. */
function partitionSchemas(route: TableRoute, catalog: Catalog): string[] {
  if (route.kind !== 'owned') return [];
  const below = (t: TableRef): string[] =>
    catalog.tables
      .filter((c) => c.parent && c.parent.schema === t.schema && c.parent.name === t.name)
      .flatMap((c) => [c.schema, ...below(c)]);
  return below(route.source);
}

const byName = (a: TableRef, b: TableRef) => (q(a) < q(b) ? -1 : q(a) > q(b) ? 1 : 0);
