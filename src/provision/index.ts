import type { Catalog, TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { atServer, atService, type Client, connect, withClient, withDatabase } from '../pg/connect.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { createMissingPartitions } from '../sync/create-partition.js';
import { compareObject } from './compare-objects.js';
import type { DatabaseDdl, DdlObject } from './ddl-model.js';
import { createPostLoadObjects, type PostLoadResult } from './post-load.js';
import { renderProvisionScript } from './render-schema.js';
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

const serverOf = (s: ServiceRoute) => s.serverUrl ?? withDatabase(s.url, 'postgres');

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
      const roles = await admin.query<{ name: string; superuser: boolean; login: boolean }>(
        'SELECT rolname AS name, rolsuper AS superuser, rolcanlogin AS login FROM pg_catalog.pg_roles WHERE rolname = ANY($1)',
        [services.map((s) => s.role)],
      );
      for (const s of services) {
        const role = roles.rows.find((r) => r.name === s.role);
        if (!role) missingRoles.add(s.role);
        else if (role.superuser || !role.login) {
          conflicts.push({
            kind: 'role',
            object: s.role,
            reasons: [
              role.superuser
                ? `role ${s.role} exists and is a superuser`
                : `role ${s.role} exists and cannot log in`,
            ],
          });
        } else present++;
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
        const inventory = await withClient(atService(s.url), readTargetInventory, {
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

  const toCreate = routing.services.filter((s) => missingRoles.has(s.role));
  const secrets = resolveRoleSecrets(toCreate, {
    secretsDir: options.secretsDir ?? defaultSecretsDir(routing.names.migration, options.env),
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
        if (!missingRoles.has(role.role) || !services.some((s) => s.role === role.role)) continue;
        for (const sql of role.statements) await admin.query(sql);
        note({ kind: 'role', name: role.role });
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
    await withClient(
      atService(service.url),
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
    for (const service of routing.services) {
      const result = await createPostLoadObjects(routing, service.name, { jobs: options.jobs ?? 2 });
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
  const client: Client = await connect(atServer(url), { applicationName: 'carve provision' });
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
