import type { TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { atService, withSession } from '../pg/connect.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { createMissingPartitions } from '../sync/create-partition.js';
import { groupByServer, withAdmin } from './admin-session.js';
import type { DdlObject, ProvisionScript } from './ddl-model.js';
import type { ProvisionEvent, ProvisionResult } from './events.js';
import type { ServicePlan } from './preflight.js';

/** Records one created object (the result's list, and its event). */
export type NoteCreated = (entry: ProvisionResult['created'][number]) => void;

/** Server-wide objects, as the admin of each server: missing roles, carve's role grants, missing databases. */
export async function createServerObjects(
  routing: Routing,
  script: ProvisionScript,
  plans: readonly ServicePlan[],
  missingRoles: ReadonlySet<string>,
  note: NoteCreated,
): Promise<void> {
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
}

/**
 * One service database's missing objects, partitions made on the monolith since an earlier run,
 * and the grants, in one transaction: a failure changes nothing of that database.
 */
export async function createDatabaseObjects(
  plan: ServicePlan,
  script: ProvisionScript,
  note: NoteCreated,
  emit: (event: ProvisionEvent) => void,
): Promise<void> {
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
            hint: provisionFailedHint(service.database, sqlStateOf(error)),
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

/**
 * What to do when a service database's objects cannot be created. A function or type the
 * monolith's definitions use (a column default, a check) is the usual cause: carve re-creates
 * tables, types, domains and extensions, not functions.
 */
function provisionFailedHint(database: string, sqlState: string | undefined): string {
  const again = 'Nothing of this database was changed (one transaction)';
  if (sqlState === SqlState.undefinedFunction || sqlState === SqlState.undefinedObject)
    return `${again}. ${database} lacks a function or type that the monolith's definitions use (the message names it; carve creates tables, types, domains and extensions, not functions): create it in ${database} as it is on the monolith (pg_dump --schema-only of the monolith shows it), then run carve provision again.`;
  return `${again}; fix the cause and run carve provision again.`;
}
