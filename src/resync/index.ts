import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { CarveError } from '../errors.js';
import { atMonolith, atService, openSession, withSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { quoteIdent, quoteIdentList, quoteLiteral, quoteQualified } from '../pg/quote.js';
import { ensurePublication } from '../pg/replication/publication.js';
import { createSlotWithSnapshot } from '../pg/replication/slot.js';
import type { SlotWaitExpired } from '../pg/replication/slot-wait.js';
import { describeBlocker } from '../pg/wait-blockers.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import { createPostLoadObjects } from '../provision/post-load.js';
import type { Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { acquireResyncLock } from './resync-lock.js';
import type { ResyncEvent, ResyncResult, ResyncStatement } from './events.js';
import type { ResyncOptions } from './options.js';
import { checkResyncPreconditions, resyncRoutes } from './preflight.js';
import { disownSequencesSql, renderMerge, renderRecreate } from './recreate-sql.js';

export type { ResyncEvent, ResyncResult, ResyncStatement } from './events.js';
export type { ResyncOptions } from './options.js';

const DEFAULT_CHUNK_ROWS = 20_000;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/**
 * Re-copy one monolith table into its service table(s) — the owner and its projections — at the
 * table's current shape, online (docs/sync.md, "Schema changes"):
 *
 * 1. While holding each target's `holds` table EXCLUSIVE (sync's appliers wait between batches),
 *    create a temporary replication slot with an exported snapshot: its consistent point C is the
 *    handover. In the same target transaction, re-create the table(s) and record (route, C,
 *    copying) in `<state>.resyncs`. Every applier batch reads that row under the same lock, so
 *    from then on sync skips the table's changes committed before C (they are in the copy) and
 *    applies later ones to the new table, recording the keys it deletes (`resync_deleted`).
 * 2. Copy the table at the snapshot in key order, chunk by chunk; each chunk is merged under the
 *    same lock: rows sync deleted stay out, rows sync wrote (newer) win.
 * 3. Indexes and foreign keys (carve post-load); mark the resync done.
 *
 * Sync keeps streaming every other table meanwhile, whether it runs in another process or not
 * at all. Killed at any point, a rerun starts over from step 1 with a new snapshot.
 */
export async function resync(options: ResyncOptions): Promise<ResyncResult> {
  const { routing, catalog } = options;
  const emit = options.onEvent ?? (() => {});
  const routes = resyncRoutes(routing, options.table);
  const owner = routes[0]!;
  const table = `${owner.source.schema}.${owner.source.name}`;
  const databases = [...new Set(routes.map((r) => r.database))];
  const statements: ResyncStatement[] = routes.flatMap((route) =>
    renderRecreate(routing, catalog, route).map((sql) => ({
      database: route.database,
      as: 'admin' as const,
      sql,
    })),
  );
  if (options.dryRun) {
    return { table, routes: routes.map((r) => r.id), dryRun: true, snapshotLsn: null, rows: 0, statements };
  }
  await checkResyncPreconditions(routing, routes);
  const started = Date.now();
  const lock = await acquireResyncLock(routing, table);
  try {
    for (const database of databases) {
      await withSession(atService(serviceOf(routing, database).url), (c) =>
        ensureStateSchema(c, routing.names.stateSchema),
      );
    }
    // A table placed in the plan since the copy is not in carve's publication yet; it must be
    // before the snapshot, so that every change after it is streamed.
    const sources = new Map(
      routing.routes
        .filter((r) => !r.sourceTable.unlogged)
        .map((r) => [`${r.source.schema}.${r.source.name}`, r.source]),
    );
    await withSession(atMonolith(routing.sourceUrl), (c) =>
      ensurePublication(c, routing.names.publication, [...sources.values()]),
    );
    const { snapshotLsn, reader } = await register(options, routes, table);
    emit({
      type: 'resync-registered',
      table,
      routes: routes.map((r) => r.id),
      snapshotLsn: formatLsn(snapshotLsn),
    });
    let rows = 0;
    try {
      for (const route of routes) rows += await copyRoute(options, route, reader, emit);
    } finally {
      await reader.end().catch(() => {});
    }
    for (const service of new Set(routes.map((r) => serviceOf(routing, r.database)))) {
      await createPostLoadObjects(routing, service.name);
    }
    for (const route of routes) {
      await withSession(atService(serviceOf(routing, route.database).url), async (c) => {
        await c.query(
          `UPDATE ${quoteQualified(routing.names.stateSchema, 'resyncs')} SET phase = 'done', finished_at = now()
            WHERE migration = $1 AND route_id = $2`,
          [routing.names.migration, route.id],
        );
        await c.query(
          `DELETE FROM ${quoteQualified(routing.names.stateSchema, 'resync_deleted')} WHERE migration = $1 AND route_id = $2`,
          [routing.names.migration, route.id],
        );
        await c.query(`DROP TABLE IF EXISTS ${chunkTable(routing, route)}`);
        await c.query(`ANALYZE ${quoteQualified(route.target.schema, route.target.name)}`);
      });
    }
    const seconds = (Date.now() - started) / 1000;
    emit({ type: 'resync-finished', table, snapshotLsn: formatLsn(snapshotLsn), rows, seconds });
    return {
      table,
      routes: routes.map((r) => r.id),
      dryRun: false,
      snapshotLsn: formatLsn(snapshotLsn),
      rows,
      statements,
    };
  } finally {
    await lock.release();
  }
}

function serviceOf(routing: Routing, database: string): ServiceRoute {
  return routing.services.find((s) => s.database === database)!;
}

/** Step 1: slot, snapshot and re-created tables; returns a monolith session inside the snapshot. */
async function register(
  options: ResyncOptions,
  routes: TableRoute[],
  table: string,
): Promise<{ snapshotLsn: Lsn; reader: Client }> {
  const { routing, catalog } = options;
  const state = routing.names.stateSchema;
  const lockTimeoutMs = options.lockTimeoutMs ?? 2000;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    const admins = new Map<string, Client>();
    let reader: Client | undefined;
    try {
      for (const database of new Set(routes.map((r) => r.database))) {
        const admin = await openSession(atService(serviceOf(routing, database).adminUrl), {
          applicationName: 'carve resync',
        });
        admins.set(database, admin);
        await admin.query('BEGIN');
        // Timed: an applier may be inside a batch that needs stream data another (already
        // locked) database's applier holds up. Released and tried again then.
        await admin.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
        await admin.query(`LOCK TABLE ${quoteQualified(state, 'holds')} IN EXCLUSIVE MODE`);
      }
      // Taken while no applier can start a batch: none has applied a change at or after C.
      const slot = await createSlotWithSnapshot(routing.sourceUrl, resyncSlotName(routing, table), {
        temporary: true,
        applicationName: 'carve resync snapshot',
        // Bounded: the appliers of these databases wait on the locks held meanwhile.
        timeout: { ms: timeoutMs, expired: (why) => snapshotTimeout(routing, table, why) },
      });
      try {
        reader = await openSession(atMonolith(routing.sourceUrl), { applicationName: 'carve resync reader' });
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await reader.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(slot.snapshotName)}`);
      } finally {
        // The reader holds the snapshot now; the temporary slot goes with its connection.
        await slot.close();
      }
      for (const route of routes) {
        const admin = admins.get(route.database)!;
        const target = quoteQualified(route.target.schema, route.target.name);
        const disown = await admin.query(disownSequencesSql(), [target]);
        for (const row of disown.rows) await admin.query(row.statement as string);
        for (const sql of renderRecreate(routing, catalog, route)) await admin.query(sql);
        await admin.query(
          `INSERT INTO ${quoteQualified(state, 'resyncs')} (migration, route_id, source_table, snapshot_lsn, phase)
           VALUES ($1, $2, $3, $4::pg_lsn, 'copying')
           ON CONFLICT (migration, route_id) DO UPDATE SET snapshot_lsn = excluded.snapshot_lsn, phase = 'copying',
             rows_copied = 0, started_at = now(), finished_at = NULL`,
          [routing.names.migration, route.id, table, formatLsn(slot.consistentPoint)],
        );
        await admin.query(
          `DELETE FROM ${quoteQualified(state, 'resync_deleted')} WHERE migration = $1 AND route_id = $2`,
          [routing.names.migration, route.id],
        );
      }
      // One commit per database: a kill between them leaves some registered at C and others at
      // an older resync (or none); the rerun registers all of them again.
      for (const admin of admins.values()) await admin.query('COMMIT');
      return { snapshotLsn: slot.consistentPoint, reader };
    } catch (error) {
      await reader?.end().catch(() => {});
      if (sqlStateOf(error) !== SqlState.lockNotAvailable || attempt >= 30) throw error;
    } finally {
      for (const admin of admins.values()) await admin.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt, 10)));
  }
}

/** The snapshot waited too long for transactions open on the monolith: name them, say how to end them. */
function snapshotTimeout(routing: Routing, table: string, why: SlotWaitExpired): CarveError {
  const { timeoutMs, blockers, action } = why;
  return new CarveError(
    'RESYNC_SNAPSHOT_TIMEOUT',
    `carve resync of ${table}: the snapshot waited ${Math.round(timeoutMs / 1000)} s (--timeout) for transactions open on the monolith before it to end${
      blockers.length ? `: ${blockers.map(describeBlocker).join('; ')}` : ''
    }; nothing was re-created`,
    {
      details: { timeoutMs, action, blockers },
      hint: `${action}, then run carve resync --plan ${routing.planFile ?? '<plan.yaml>'} --table ${table} again.`,
    },
  );
}

/** `carve_resync_<migration hash>`: valid, short, and one per migration and table at a time. */
function resyncSlotName(routing: Routing, table: string): string {
  const hash = createHash('sha256').update(`${routing.names.migration}\0${table}`).digest('hex').slice(0, 16);
  return `carve_resync_${hash}`;
}

/** Where a chunk waits in the target before its merge (carve's role owns the state schema). */
function chunkTable(routing: Routing, route: TableRoute): string {
  const hash = createHash('sha256').update(route.id).digest('hex').slice(0, 16);
  return quoteQualified(routing.names.stateSchema, `resync_chunk_${hash}`);
}

/** Step 2 for one route: chunks in key order at the snapshot, each merged in one transaction. */
async function copyRoute(
  options: ResyncOptions,
  route: TableRoute,
  reader: Client,
  emit: (event: ResyncEvent) => void,
): Promise<number> {
  const { routing } = options;
  const limit = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const columns = route.columns.filter((c) => !c.generated);
  const keyColumns = route.key.map((k) => route.columns.find((c) => c.source === k)!);
  const sourceKey = keyColumns.map((c) => quoteIdent(c.source));
  const targetKey = keyColumns.map((c) => quoteIdent(c.target));
  const chunk = chunkTable(routing, route);
  const merge = renderMerge(routing.names.stateSchema, route);
  const target = await openSession(atService(serviceOf(routing, route.database).url), {
    applicationName: 'carve resync copy',
  });
  let total = 0;
  try {
    await target.query(`DROP TABLE IF EXISTS ${chunk}`);
    await target.query(
      `CREATE UNLOGGED TABLE ${chunk} AS SELECT ${quoteIdentList(columns.map((c) => c.target))}
         FROM ${quoteQualified(route.target.schema, route.target.name)} WITH NO DATA`,
    );
    let after: (string | null)[] | null = null;
    for (;;) {
      // Keyset pagination inside the snapshot; COPY takes no parameters, so the last key is
      // inlined as typed literals.
      const where: string =
        after === null
          ? ''
          : ` WHERE (${sourceKey.join(', ')}) > (${after.map((v, i) => `${quoteLiteral(v!)}::${keyColumns[i]!.type}`).join(', ')})`;
      const select = `SELECT ${quoteIdentList(columns.map((c) => c.source))} FROM ${quoteQualified(route.source.schema, route.source.name)}${where} ORDER BY ${sourceKey.join(', ')} LIMIT ${limit}`;
      await target.query('BEGIN');
      await target.query(`TRUNCATE ${chunk}`);
      await pipeline(
        reader.query(copyTo(`COPY (${select}) TO STDOUT`)),
        target.query(copyFrom(`COPY ${chunk} (${quoteIdentList(columns.map((c) => c.target))}) FROM STDIN`)),
      );
      const last = await target.query({
        text: `SELECT count(*) OVER () AS n, ${targetKey.map((k) => `${k}::text`).join(', ')} FROM ${chunk} ORDER BY ${targetKey.join(', ')} DESC LIMIT 1`,
        rowMode: 'array',
      });
      const rows = last.rows.length === 0 ? 0 : Number((last.rows[0] as unknown[])[0]);
      if (rows > 0) {
        await target.query(`SELECT set_config('lock_timeout', '0', true)`);
        await target.query(
          `LOCK TABLE ${quoteQualified(routing.names.stateSchema, 'holds')} IN EXCLUSIVE MODE`,
        );
        await target.query(merge.replace(`pg_temp.resync_chunk`, chunk), [routing.names.migration, route.id]);
        await target.query(
          `UPDATE ${quoteQualified(routing.names.stateSchema, 'resyncs')} SET rows_copied = rows_copied + $3
            WHERE migration = $1 AND route_id = $2`,
          [routing.names.migration, route.id, rows],
        );
      }
      await target.query('COMMIT');
      total += rows;
      if (rows > 0) emit({ type: 'resync-chunk', route: route.id, rows, totalRows: total });
      if (rows < limit) break;
      after = (last.rows[0] as (string | null)[]).slice(1);
    }
  } catch (error) {
    await target.query('ROLLBACK').catch(() => {});
    throw error instanceof CarveError
      ? error
      : new CarveError(
          'RESYNC_COPY_FAILED',
          `Copying ${route.source.schema}.${route.source.name} into ${route.database} failed: ${String((error as Error).message ?? error)}`,
          {
            details: { route: route.id, database: route.database, sqlState: sqlStateOf(error) ?? null },
            hint: `Fix the cause, then run carve resync --plan ${routing.planFile ?? '<plan.yaml>'} --table ${route.source.schema}.${route.source.name} again (it starts over at a new snapshot).`,
            cause: error,
          },
        );
  } finally {
    await target.end().catch(() => {});
  }
  emit({ type: 'resync-route-copied', route: route.id, rows: total });
  return total;
}
