import type { BackupRecord } from '../backup/events.js';
import { latestBackupIn } from '../backup/latest-backup.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { CopyLog, type ChunkRecord, type MigrationRecord } from '../state/copy-log.js';
import type { SyncStopError } from '../sync/events.js';
import { SyncState } from '../sync/state.js';
import { readSlotStatus, readSyncStatus, type SlotStatus, type SyncStatus } from '../sync/status.js';
import { readMovedServices } from '../sync/moved-services.js';
import { reverseAlerts, slotAlerts, targetBehindAlerts, type StatusAlert } from './status-alerts.js';

export type { StatusAlert } from './status-alerts.js';

export type MigrationPhase =
  | 'not-provisioned'
  | 'provisioned'
  | 'copying'
  | 'copy-failed'
  | 'copied'
  | 'streaming'
  | 'verified'
  | 'verify-failed'
  /** The slot is gone or invalidated while the targets record a migration: streaming cannot resume. */
  | 'slot-lost'
  /** carve teardown removed the slot and publication: the targets keep what they had, nothing streams. */
  | 'torn-down';

/** Retained WAL above this, with no sync running, is worth a warning (carve status --wal-warn). */
export const DEFAULT_WAL_WARN_BYTES = 1024 ** 3;

export interface RouteProgress {
  routeId: string;
  database: string;
  rowsCopied: number;
  estimatedRows: number;
  chunks: number;
  chunksDone: number;
  chunksFailed: number;
}

export interface CopyProgress {
  routes: RouteProgress[];
  chunks: number;
  chunksDone: number;
  chunksFailed: number;
  rowsCopied: number;
  estimatedRows: number;
  /** Rows per second over the last minute of finished chunks (0 when idle). */
  rowsPerSecond: number;
  /** Remaining estimated rows / rate, null when unknown. */
  etaSeconds: number | null;
  finished: boolean;
  /**
   * Why the stream that brings a resumed copy up to its later snapshot stopped (see
   * copy/later-snapshot.ts): the copy stays unfinished until `carve copy --resume` gets past it.
   * Null when it did not stop, or the copy finished.
   */
  catchUpError: SyncStopError | null;
  failures: {
    routeId: string;
    chunkNo: number;
    relation: string;
    lower: string | null;
    upper: string | null;
    sqlstate: string | null;
    error: string | null;
  }[];
}

export interface VerifySummary {
  runId: string;
  lsn: string;
  startedAt: string;
  finishedAt: string | null;
  ok: boolean | null;
}

export interface MigrationStatus {
  migration: string;
  phase: MigrationPhase;
  missing: { databases: string[]; tables: string[] };
  copy: CopyProgress | null;
  sync: (SyncStatus & { running: boolean }) | null;
  verify: VerifySummary | null;
  /** The migration's slot, once the targets record a copy (null before). */
  slot: SlotStatus | null;
  /** What needs the operator, most severe first (empty when nothing does). */
  alerts: StatusAlert[];
  /** The latest `carve backup` of the moving tables (null when none was taken). */
  backup?: BackupRecord | null;
}

export interface StatusOptions {
  /** Warn when the slot keeps more WAL than this while no sync runs (default 1 GiB). */
  walWarnBytes?: number;
  /** Work out lag seconds (default true; may read the slot for a few seconds when no sync runs). */
  lagSeconds?: boolean;
}

interface DatabaseState {
  database: string;
  exists: boolean;
  missingTables: string[];
  migration?: MigrationRecord;
  chunks: ChunkRecord[];
  recent: { rows: number; seconds: number };
  verify?: VerifySummary;
  /** Why the last sync (a copy's catch-up included) stopped, as recorded in this database. */
  syncError?: SyncStopError | null;
  backup?: BackupRecord | null;
}

/**
 * Where a migration stands, from what the databases record (nothing is kept anywhere else):
 * provisioned objects, the copy log, applied positions and lag, the last verify run. Reads only.
 */
export async function readMigrationStatus(
  routing: Routing,
  options: StatusOptions = {},
): Promise<MigrationStatus> {
  const { names } = routing;
  const log = new CopyLog(names.stateSchema, names.migration);
  const syncState = new SyncState(names.stateSchema, names.migration);
  const databases: DatabaseState[] = [];
  for (const service of routing.services) {
    try {
      databases.push(
        await withSession(atService(service.url), async (client) => {
          const state: DatabaseState = {
            database: service.database,
            exists: true,
            missingTables: [],
            chunks: [],
            recent: { rows: 0, seconds: 60 },
          };
          for (const route of service.tables) {
            const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
              quoteQualified(route.target.schema, route.target.name),
            ]);
            if (!rows[0].present)
              state.missingTables.push(`${service.database}.${route.target.schema}.${route.target.name}`);
          }
          const present = async (table: string) =>
            (
              await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [
                quoteQualified(names.stateSchema, table),
              ])
            ).rows[0].present as boolean;
          if (await present('migrations')) {
            state.migration = await log.readMigration(client);
            state.chunks = await log.chunks(client);
            const recent = await client.query(
              `SELECT coalesce(sum(rows), 0)::bigint AS rows,
                      greatest(1, extract(epoch FROM now() - min(finished_at)))::float8 AS seconds
                 FROM ${quoteQualified(names.stateSchema, 'copy_chunks')}
                WHERE migration = $1 AND status = 'done' AND finished_at > now() - interval '60 seconds'`,
              [names.migration],
            );
            state.recent = { rows: Number(recent.rows[0].rows), seconds: Number(recent.rows[0].seconds) };
            state.syncError = await syncState.readSyncError(client);
          }
          if (await present('verify_runs')) {
            const { rows } = await client.query(
              `SELECT run_id, lsn::text AS lsn, started_at::text AS started, finished_at::text AS finished, ok
                 FROM ${quoteQualified(names.stateSchema, 'verify_runs')} WHERE migration = $1
                ORDER BY started_at DESC LIMIT 1`,
              [names.migration],
            );
            const r = rows[0];
            if (r)
              state.verify = {
                runId: r.run_id,
                lsn: r.lsn,
                startedAt: r.started,
                finishedAt: r.finished,
                ok: r.ok,
              };
          }
          state.backup = await latestBackupIn(client, routing);
          return state;
        }),
      );
    } catch (error) {
      // Before provision neither the database nor carve's role (which status logs in as) exists.
      const state = sqlStateOf(error);
      if (state !== SqlState.invalidCatalogName && state !== SqlState.invalidAuthorizationSpecification)
        throw error;
      databases.push({
        database: service.database,
        exists: false,
        missingTables: [],
        chunks: [],
        recent: { rows: 0, seconds: 60 },
      });
    }
  }

  const missing = {
    databases: databases.filter((d) => !d.exists).map((d) => d.database),
    tables: databases.flatMap((d) => d.missingTables),
  };
  const recorded = databases.filter((d) => d.migration);
  const copy = recorded.length ? copyProgress(routing, databases) : null;
  const sync = copy?.finished
    ? { ...(await readSyncStatus(routing, { lagSeconds: options.lagSeconds })), running: false }
    : null;
  if (sync) sync.running = sync.slot.active;
  const verify = latestVerify(databases);
  const slot = sync ? sync.slot : copy ? await readSlotStatus(routing) : null;
  const publicationExists = slot && !slot.exists ? await hasPublication(routing) : true;
  const slotLost = slot !== null && publicationExists && (!slot.exists || slot.walStatus === 'lost');
  // Read only when a start-over hint is shown: it names the services whose databases it must keep.
  const moved =
    slotLost || sync?.targets.some((t) => t.behindSlot && !t.applyingFromKafka)
      ? await readMovedServices(routing)
      : [];
  const alerts = slot
    ? slotAlerts(routing, {
        slot,
        publicationExists,
        running: slot.active,
        walWarnBytes: options.walWarnBytes ?? DEFAULT_WAL_WARN_BYTES,
        moved,
      })
    : [];
  if (sync) alerts.push(...targetBehindAlerts(routing, sync, moved));
  if (copy?.finished) alerts.push(...(await reverseAlerts(routing, { forwardSlotLost: slotLost })));

  let phase: MigrationPhase;
  if (missing.databases.length || missing.tables.length) phase = 'not-provisioned';
  else if (!copy) phase = 'provisioned';
  else if (!copy.finished) phase = copy.chunksFailed || copy.catchUpError ? 'copy-failed' : 'copying';
  else if (verify?.finishedAt && verify.ok !== null) phase = verify.ok ? 'verified' : 'verify-failed';
  else phase = sync?.running ? 'streaming' : 'copied';
  // A verify result is history; streaming is what is happening now.
  if ((phase === 'verified' || phase === 'verify-failed') && sync?.running) phase = 'streaming';
  // Whatever was achieved, a stream that cannot resume is what the operator must know first.
  if (slot && phase !== 'not-provisioned') {
    if (!slot.exists && !publicationExists) phase = 'torn-down';
    else if (!slot.exists || slot.walStatus === 'lost') phase = 'slot-lost';
  }
  const backups = databases.map((d) => d.backup).filter((b): b is BackupRecord => !!b);
  backups.sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
  const backup = backups[0] ?? null;
  return { migration: names.migration, phase, missing, copy, sync, verify, slot, alerts, backup };
}

async function hasPublication(routing: Routing): Promise<boolean> {
  return withSession(atMonolith(routing.sourceUrl), async (client) => {
    const { rows } = await client.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [
      routing.names.publication,
    ]);
    return rows.length > 0;
  });
}

function copyProgress(routing: Routing, databases: DatabaseState[]): CopyProgress {
  const routes: RouteProgress[] = routing.routes.map((route) => {
    const chunks =
      databases.find((d) => d.database === route.database)?.chunks.filter((c) => c.routeId === route.id) ??
      [];
    return {
      routeId: route.id,
      database: route.database,
      rowsCopied: chunks.reduce((sum, c) => sum + (c.status === 'done' ? (c.rows ?? 0) : 0), 0),
      estimatedRows: Math.max(0, route.sourceTable.rowEstimate),
      chunks: chunks.length,
      chunksDone: chunks.filter((c) => c.status === 'done').length,
      chunksFailed: chunks.filter((c) => c.status === 'failed').length,
    };
  });
  const all = databases.flatMap((d) => d.chunks);
  const rowsCopied = routes.reduce((s, r) => s + r.rowsCopied, 0);
  const estimatedRows = routes.reduce((s, r) => s + Math.max(r.estimatedRows, r.rowsCopied), 0);
  const recentRows = databases.reduce((s, d) => s + d.recent.rows, 0);
  const recentSeconds = Math.max(1, ...databases.map((d) => d.recent.seconds));
  const rowsPerSecond = recentRows / recentSeconds;
  const finished = databases.every((d) => !d.exists || d.migration?.copyFinishedAt);
  // Every database records the same stop; a copy's catch-up clears it when it starts again.
  const stops = databases.map((d) => d.syncError).filter((e): e is SyncStopError => !!e);
  stops.sort((a, b) => b.at.localeCompare(a.at));
  return {
    routes,
    chunks: all.length,
    chunksDone: all.filter((c) => c.status === 'done').length,
    chunksFailed: all.filter((c) => c.status === 'failed').length,
    rowsCopied,
    estimatedRows,
    rowsPerSecond,
    etaSeconds: finished
      ? 0
      : rowsPerSecond > 0
        ? Math.max(0, estimatedRows - rowsCopied) / rowsPerSecond
        : null,
    finished,
    catchUpError: finished ? null : (stops[0] ?? null),
    failures: all
      .filter((c) => c.status === 'failed')
      .map((c) => ({
        routeId: c.routeId,
        chunkNo: c.chunkNo,
        relation: `${c.source.schema}.${c.source.name}`,
        lower: c.lower,
        upper: c.upper,
        sqlstate: c.sqlstate,
        error: c.error,
      })),
  };
}

function latestVerify(databases: DatabaseState[]): VerifySummary | null {
  const runs = databases.map((d) => d.verify).filter((v): v is VerifySummary => v !== undefined);
  if (!runs.length) return null;
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const latest = runs[0]!;
  // One run spans every database; it passed only if it finished and passed everywhere.
  const same = runs.filter((r) => r.runId === latest.runId);
  return {
    ...latest,
    ok: same.some((r) => r.ok === false) ? false : same.every((r) => r.ok === true) ? true : null,
    finishedAt: same.every((r) => r.finishedAt) ? latest.finishedAt : null,
  };
}
