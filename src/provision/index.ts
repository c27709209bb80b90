import type { Catalog, TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import {
  atServer,
  atService,
  type Client,
  openSession,
  redactUrl,
  withSession,
  withDatabase,
} from '../pg/connect.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { createMissingPartitions } from '../sync/create-partition.js';
import { compareObject } from './compare-objects.js';
import type { DatabaseDdl, DdlObject } from './ddl-model.js';
import { createPostLoadObjects, type PostLoadResult } from './post-load.js';
import { renderProvisionScript } from './render-schema.js';
import { withCarveLogins } from '../routing/carve-logins.js';
import { defaultSecretsDir, resolveRoleSecrets } from './role-secrets.js';
import { readTargetInventory } from './target-inventory.js';
import type { ProvisionConflict, ProvisionResult } from './events.js';
import type { ProvisionOptions } from './options.js';
import { sqlStateOf } from '../pg/sqlstate.js';

export type { ProvisionConflict, ProvisionEvent, ProvisionResult } from './events.js';
export type { ProvisionOptions } from './options.js';

interface ServicePlan {
  ddl: DatabaseDdl;
  databaseExists: boolean;
  missing: DdlObject[];
}

const serverOf = (s: ServiceRoute) => s.serverUrl ?? withDatabase(s.adminUrl, 'postgres');

/**
 * Create the service databases, roles, schema objects and grants on the target server(s).
 * Everything is read and compared first: a conflicting object anywhere (same name, different
 * definition) fails with PROVISION_CONFLICT naming every one, before any write. Existing identical
 * objects are left alone, so running it twice changes nothing.
 */
export async function provision(
  catalog: Catalog,
  routing: Routing,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const emit = options.onEvent ?? (() => {});
  const conflicts: ProvisionConflict[] = [];
  const missingRoles = new Set<string>();
  const plans: ServicePlan[] = [];
  let present = 0;

  // Render without secrets to inspect; secrets are only resolved for roles that will be created.
  const draft = renderProvisionScript(catalog, routing, new Map());
  for (const [server, services] of groupByServer(routing.services)) {
    await withAdmin(server, async (admin) => {
      await assertServerVersion(admin, server);
      const roles = await readRoles(admin, services);
      for (const s of services) {
        const problems = roleProblems(s, roles);
        for (const [object, reasons] of problems) conflicts.push({ kind: 'role', object, reasons });
        for (const name of [s.role, s.carveRole]) {
          if (!roles.has(name)) missingRoles.add(name);
          else if (!problems.has(name)) present++;
        }
      }
      const dbs = await admin.query<{ name: string }>(
        'SELECT datname AS name FROM pg_catalog.pg_database WHERE datname = ANY($1)',
        [services.map((s) => s.database)],
      );
      const existing = new Set(dbs.rows.map((r) => r.name));
      for (const s of services) {
        const ddl = draft.databases.find((d) => d.service.name === s.name)!;
        if (!existing.has(s.database)) {
          plans.push({ ddl, databaseExists: false, missing: ddl.objects });
          emit({ type: 'checked', database: s.database, missing: ddl.objects.length + 1, present: 0 });
          continue;
        }
        present++;
        const inventory = await withSession(atService(s.adminUrl), readTargetInventory, {
          applicationName: 'carve provision',
        });
        const missing: DdlObject[] = [];
        for (const object of ddl.objects) {
          const state = compareObject(object, inventory);
          if (state.state === 'missing') missing.push(object);
          else if (state.state === 'present') present++;
          else
            conflicts.push({
              database: s.database,
              kind: object.kind,
              object: object.name,
              reasons: state.reasons,
            });
        }
        plans.push({ ddl, databaseExists: true, missing });
        emit({
          type: 'checked',
          database: s.database,
          missing: missing.length,
          present: ddl.objects.length - missing.length,
        });
      }
    });
  }

  if (conflicts.length > 0) {
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

  const secretsDir = options.secretsDir ?? defaultSecretsDir(routing.names.migration, options.env);
  const secrets = resolveRoleSecrets(routing.services, {
    secretsDir,
    only: missingRoles,
    ...(options.env ? { env: options.env } : {}),
  });
  const script = renderProvisionScript(catalog, routing, secrets.verifiers);
  const created: ProvisionResult['created'] = [];
  const note = (entry: { database?: string; kind: string; name: string }) => {
    created.push(entry);
    emit({ type: 'created', ...entry });
  };

  for (const [server, services] of groupByServer(routing.services)) {
    await withAdmin(server, async (admin) => {
      for (const role of script.roles) {
        const here = services.some((s) => s.role === role.role || s.carveRole === role.role);
        if (!missingRoles.has(role.role) || !here) continue;
        for (const sql of role.statements) await admin.query(sql);
        note({ kind: 'role', name: role.role });
      }
      for (const grant of script.roleGrants) {
        if (!services.includes(grant.service)) continue;
        for (const sql of grant.statements) await admin.query(sql);
      }
      for (const plan of plans.filter((p) => services.includes(p.ddl.service) && !p.databaseExists)) {
        for (const sql of plan.ddl.database.statements) await admin.query(sql);
        note({ kind: 'database', name: plan.ddl.service.database });
      }
    });
  }

  for (const plan of plans) {
    const service = plan.ddl.service;
    const ddl = script.databases.find((d) => d.service.name === service.name)!;
    const missing = new Set(plan.missing.map((o) => `${o.kind}:${o.name}`));
    const done: DdlObject[] = [];
    const partitions: TableRef[] = [];
    await withSession(
      atService(service.adminUrl),
      async (client) => {
        await client.query('BEGIN');
        try {
          for (const object of ddl.objects) {
            if (!missing.has(`${object.kind}:${object.name}`)) continue;
            for (const sql of object.statements) await client.query(sql);
            done.push(object);
          }
          // Partitions made on the monolith since an earlier run (before the grants, which own them).
          partitions.push(...(await createMissingPartitions(client, service)));
          for (const sql of ddl.grants) await client.query(sql);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw new CarveError(
            'PROVISION_FAILED',
            `Provisioning ${service.database} failed: ${(error as Error).message}`,
            {
              details: { database: service.database, sqlstate: sqlStateOf(error) },
              hint: 'Nothing of this database was changed (one transaction); fix the cause and run provision again.',
              cause: error,
            },
          );
        }
      },
      { applicationName: 'carve provision' },
    );
    for (const object of done) note({ database: service.database, kind: object.kind, name: object.name });
    for (const t of partitions)
      note({ database: service.database, kind: 'partition', name: `${t.schema}.${t.name}` });
    emit({ type: 'granted', database: service.database, statements: ddl.grants.length });
  }

  const postLoad: PostLoadResult[] = [];
  if (options.withIndexes) {
    // Built as carve's role of each database (never as the admin): see docs/security.md.
    const sessions = withCarveLogins(routing, { secretsDir, ...(options.env ? { env: options.env } : {}) });
    for (const service of routing.services) {
      const result = await createPostLoadObjects(sessions, service.name, { jobs: options.jobs ?? 2 });
      postLoad.push(result);
      emit({ type: 'post-load', result });
    }
  }
  return { created, present, passwordFiles: secrets.written, postLoad };
}

function groupByServer(services: readonly ServiceRoute[]): Map<string, ServiceRoute[]> {
  const out = new Map<string, ServiceRoute[]>();
  for (const s of services) out.set(serverOf(s), [...(out.get(serverOf(s)) ?? []), s]);
  return out;
}

async function withAdmin<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client: Client = await openSession(atServer(url), { applicationName: 'carve provision' });
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
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
