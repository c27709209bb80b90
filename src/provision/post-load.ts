import { CarveError } from '../errors.js';
import { atService, type Client, openSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing } from '../routing/model.js';
import type { PostLoadObject } from './ddl-model.js';
import { renderPostLoad } from './render-post-load.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';

export interface PostLoadResult {
  service: string;
  database: string;
  /** Indexes created by this call. */
  indexes: number;
  /** Foreign keys created by this call. */
  foreignKeys: number;
  /** Names of what was created or validated by this call. */
  created: string[];
  /** Objects that already existed. */
  present: number;
}

/**
 * Create the secondary indexes and kept foreign keys of one service database, after its load.
 * Idempotent: what exists is skipped (a NOT VALID foreign key left by an interrupted run is
 * validated). Indexes are built in parallel across tables on up to `jobs` connections; the
 * foreign keys follow, once their indexes exist.
 */
export async function createPostLoadObjects(
  routing: Routing,
  serviceName: string,
  options: { jobs?: number } = {},
): Promise<PostLoadResult> {
  const service = routing.services.find((s) => s.name === serviceName);
  if (!service) {
    throw new CarveError('UNKNOWN_SERVICE', `No service ${serviceName} in this routing`, {
      details: { service: serviceName, known: routing.services.map((s) => s.name) },
      hint: 'Use a service name from the plan.',
    });
  }
  const objects = renderPostLoad(service);
  const result: PostLoadResult = {
    service: service.name,
    database: service.database,
    indexes: 0,
    foreignKeys: 0,
    created: [],
    present: 0,
  };
  const byTable = new Map<string, Extract<PostLoadObject, { kind: 'index' }>[]>();
  for (const o of objects) {
    if (o.kind !== 'index') continue;
    byTable.set(o.group, [...(byTable.get(o.group) ?? []), o]);
  }
  const groups = [...byTable.values()];
  const workers = Math.max(1, Math.min(options.jobs ?? 1, groups.length));
  const clients: Client[] = [];
  try {
    for (let i = 0; i < workers; i++)
      clients.push(await openSession(atService(service.url), { applicationName: 'carve post-load' }));
    let next = 0;
    let failed: unknown;
    await Promise.all(
      clients.map(async (client) => {
        while (failed === undefined && next < groups.length) {
          const group = groups[next++]!;
          for (const index of group) {
            try {
              if (await relationExists(client, index.table.schema, index.index)) {
                result.present++;
                continue;
              }
              for (const sql of index.statements) await client.query(sql);
              result.indexes++;
              result.created.push(index.name);
            } catch (error) {
              await client.query('ROLLBACK').catch(() => {});
              failed ??= postLoadError(service.database, `index ${index.name}`, error);
              return;
            }
          }
        }
      }),
    );
    if (failed !== undefined) throw failed;

    const client = clients[0]!;
    for (const fk of objects) {
      if (fk.kind !== 'foreign-key') continue;
      try {
        const { rows } = await client.query<{ validated: boolean }>(
          `SELECT convalidated AS validated FROM pg_catalog.pg_constraint
           WHERE conrelid = to_regclass($1) AND conname = $2 AND contype = 'f'`,
          [quoteQualified(fk.table.schema, fk.table.name), fk.constraint],
        );
        if (rows.length === 0) {
          for (const sql of fk.add) await client.query(sql);
          for (const sql of fk.validate) await client.query(sql);
          result.foreignKeys++;
          result.created.push(fk.name);
        } else if (!rows[0]!.validated && fk.validate.length > 0) {
          for (const sql of fk.validate) await client.query(sql);
          result.created.push(`${fk.name} (validated)`);
        } else {
          result.present++;
        }
      } catch (error) {
        throw postLoadError(
          service.database,
          `foreign key ${fk.name} on ${fk.table.schema}.${fk.table.name}`,
          error,
        );
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
  return result;
}

async function relationExists(client: Client, schema: string, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
    quoteQualified(schema, name),
  ]);
  return Boolean(rows[0]?.present);
}

function postLoadError(database: string, what: string, cause: unknown): CarveError {
  return new CarveError(
    'POST_LOAD_FAILED',
    `Creating ${what} in ${database} failed: ${(cause as Error)?.message ?? cause}`,
    {
      details: { database, object: what, sqlstate: sqlStateOf(cause) },
      hint: postLoadHint(database, sqlStateOf(cause)),
      cause,
    },
  );
}

/** The same command again finishes the job (migrate resumes; a copy run alone with --resume). */
function postLoadHint(database: string, sqlState: string | undefined): string {
  const again =
    'then run the command again (carve migrate resumes where it stopped; after carve copy, carve copy --resume); finished objects are kept.';
  if (sqlState === SqlState.undefinedFunction || sqlState === SqlState.undefinedObject)
    return `${database} lacks a function or type the monolith's index or key uses (the message names it; carve does not copy functions): create it in ${database} as it is on the monolith (pg_dump --schema-only of the monolith shows it), ${again}`;
  return `Fix the cause (for a foreign key: rows without their parent), ${again}`;
}
