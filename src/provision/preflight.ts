import { CarveError } from '../errors.js';
import { atService, type Client, redactUrl, withSession } from '../pg/connect.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { groupByServer, withAdmin } from './admin-session.js';
import { compareObject } from './compare-objects.js';
import type { DatabaseDdl, DdlObject, ProvisionScript } from './ddl-model.js';
import type { ProvisionConflict, ProvisionEvent } from './events.js';
import { readTargetInventory } from './target-inventory.js';

/** What one service database needs: its DDL, and which of its objects are not there yet. */
export interface ServicePlan {
  ddl: DatabaseDdl;
  databaseExists: boolean;
  missing: DdlObject[];
}

/** What the target servers hold, compared with what provision would create; nothing written. */
export interface TargetCheck {
  plans: ServicePlan[];
  conflicts: ProvisionConflict[];
  /** Roles to create (the only ones whose secrets are resolved). */
  missingRoles: Set<string>;
  /** Objects that exist already, identical. */
  present: number;
}

/**
 * Read every target server (version, roles, databases, the objects in each database) and compare
 * it with `draft`, the script rendered without secrets.
 */
export async function checkTargets(
  routing: Routing,
  draft: ProvisionScript,
  emit: (event: ProvisionEvent) => void,
): Promise<TargetCheck> {
  const check: TargetCheck = { plans: [], conflicts: [], missingRoles: new Set(), present: 0 };
  for (const [server, services] of groupByServer(routing.services)) {
    await withAdmin(server, async (admin) => {
      await assertServerVersion(admin, server);
      await checkRoles(admin, services, check);
      await checkDatabases(admin, services, draft, check, emit);
    });
  }
  return check;
}

/** A conflicting object anywhere fails the run, naming every one, before any write. */
export function assertNoConflicts(conflicts: ProvisionConflict[]): void {
  if (conflicts.length === 0) return;
  const list = conflicts.map(
    (c) => `${c.database ? `${c.database}: ` : ''}${c.kind} ${c.object} (${c.reasons.join('; ')})`,
  );
  throw new CarveError(
    'PROVISION_CONFLICT',
    `The target already holds ${conflicts.length} conflicting object(s):\n  ${list.join('\n  ')}`,
    {
      details: { conflicts },
      hint: 'Drop or rename the conflicting objects (or point the plan at other database names); nothing was changed.',
    },
  );
}

async function checkRoles(
  admin: Client,
  services: readonly ServiceRoute[],
  check: TargetCheck,
): Promise<void> {
  const roles = await readRoles(admin, services);
  for (const s of services) {
    const problems = roleProblems(s, roles);
    for (const [object, reasons] of problems) check.conflicts.push({ kind: 'role', object, reasons });
    for (const name of [s.role, s.carveRole]) {
      if (!roles.has(name)) check.missingRoles.add(name);
      else if (!problems.has(name)) check.present++;
    }
  }
}

async function checkDatabases(
  admin: Client,
  services: readonly ServiceRoute[],
  draft: ProvisionScript,
  check: TargetCheck,
  emit: (event: ProvisionEvent) => void,
): Promise<void> {
  const dbs = await admin.query<{ name: string }>(
    'SELECT datname AS name FROM pg_catalog.pg_database WHERE datname = ANY($1)',
    [services.map((s) => s.database)],
  );
  const existing = new Set(dbs.rows.map((r) => r.name));
  for (const s of services) {
    const ddl = draft.databases.find((d) => d.service.name === s.name)!;
    if (!existing.has(s.database)) {
      check.plans.push({ ddl, databaseExists: false, missing: ddl.objects });
      emit({ type: 'checked', database: s.database, missing: ddl.objects.length + 1, present: 0 });
      continue;
    }
    check.present++;
    const inventory = await withSession(atService(s.adminUrl), readTargetInventory, {
      applicationName: 'carve provision',
    });
    const missing: DdlObject[] = [];
    for (const object of ddl.objects) {
      const state = compareObject(object, inventory);
      if (state.state === 'missing') missing.push(object);
      else if (state.state === 'present') check.present++;
      else
        check.conflicts.push({
          database: s.database,
          kind: object.kind,
          object: object.name,
          reasons: state.reasons,
        });
    }
    check.plans.push({ ddl, databaseExists: true, missing });
    emit({
      type: 'checked',
      database: s.database,
      missing: missing.length,
      present: ddl.objects.length - missing.length,
    });
  }
}

interface RoleRow {
  name: string;
  superuser: boolean;
  login: boolean;
  createrole: boolean;
  createdb: boolean;
  replication: boolean;
  /** Roles it is a direct member of. */
  memberOf: string[];
  /** Roles that have its privileges (direct or indirect members, and itself). */
  members: string[];
}

async function readRoles(admin: Client, services: readonly ServiceRoute[]): Promise<Map<string, RoleRow>> {
  const names = services.flatMap((s) => [s.role, s.carveRole]);
  const { rows } = await admin.query<RoleRow>(
    `SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolcanlogin AS login,
            r.rolcreaterole AS createrole, r.rolcreatedb AS createdb, r.rolreplication AS replication,
            ARRAY(SELECT g.rolname FROM pg_catalog.pg_auth_members m
                    JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1)::text[] AS "memberOf",
            ARRAY(SELECT o.rolname FROM pg_catalog.pg_roles o
                   WHERE pg_catalog.pg_has_role(o.oid, r.oid, 'USAGE') ORDER BY 1)::text[] AS members
       FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1)`,
    [names],
  );
  return new Map(rows.map((r) => [r.name, r]));
}

/**
 * Existing roles that would break the isolation carve provisions (docs/security.md): a service
 * role that is a superuser or cannot log in; a carve role with any power beyond its service's
 * rights (superuser, CREATEROLE, CREATEDB, REPLICATION, membership in another role), or one whose
 * rights the service role holds.
 */
function roleProblems(service: ServiceRoute, roles: ReadonlyMap<string, RoleRow>): Map<string, string[]> {
  const problems = new Map<string, string[]>();
  const add = (role: string, reason: string) => problems.set(role, [...(problems.get(role) ?? []), reason]);
  const own = roles.get(service.role);
  if (own?.superuser) add(service.role, `role ${service.role} exists and is a superuser`);
  else if (own && !own.login) add(service.role, `role ${service.role} exists and cannot log in`);
  const carve = roles.get(service.carveRole);
  if (!carve) return problems;
  const name = service.carveRole;
  if (carve.superuser) add(name, `carve's role ${name} exists and is a superuser`);
  if (!carve.login) add(name, `carve's role ${name} exists and cannot log in`);
  for (const [flag, word] of [
    [carve.createrole, 'CREATEROLE'],
    [carve.createdb, 'CREATEDB'],
    [carve.replication, 'REPLICATION'],
  ] as const) {
    if (flag) add(name, `carve's role ${name} has ${word}`);
  }
  const allowed = service.readonly ? [] : [service.role];
  for (const other of carve.memberOf.filter((r) => !allowed.includes(r))) {
    add(name, `carve's role ${name} is a member of ${other}`);
  }
  if (carve.members.includes(service.role)) {
    add(name, `service role ${service.role} has the rights of carve's role ${name}`);
  }
  return problems;
}

/** GRANT SET ON PARAMETER, which carve's roles need, exists from PostgreSQL 15 on. */
async function assertServerVersion(admin: Client, server: string): Promise<void> {
  const { rows } = await admin.query<{ version: number }>(
    `SELECT pg_catalog.current_setting('server_version_num')::int AS version`,
  );
  const version = rows[0]!.version;
  if (version >= 150000) return;
  throw new CarveError(
    'PROVISION_SERVER_VERSION',
    `The target server at ${redactUrl(server)} runs PostgreSQL ${Math.floor(version / 10000)}; carve needs 15 or later`,
    {
      details: { url: redactUrl(server), serverVersionNum: version },
      hint: 'Put the service databases on a PostgreSQL 15 (or later) server: carve applies changes as a non-superuser role, which needs GRANT SET ON PARAMETER (new in 15).',
    },
  );
}
