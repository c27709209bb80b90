import { atService, type Client, withSession } from '../pg/connect.js';
import type { Routing, TableRoute } from '../routing/model.js';
import type { ChunkRecord, CopyLog } from '../state/copy-log.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { mapLimited } from '../concurrency.js';
import { planChunks, type RelationStats } from './chunk-planner.js';
import { readRelationStats, type PendingChunk } from './copy-plan.js';
import type { CopyEvent, RouteCopyPlan } from './events.js';
import type { TargetState } from './preflight.js';
import type { SnapshotEvents } from './snapshot-events.js';
import type { SnapshotSession } from './snapshot-session.js';

export interface CopyPlanContext {
  routing: Routing;
  states: TargetState[];
  mode: 'fresh' | 'resume';
  consistentLsn: string;
  session: SnapshotSession;
  log: CopyLog;
  chunkBytes: number;
  jobs: number;
  emit: (event: CopyEvent) => void;
  /** Opened: knows which chunks are published already. */
  snapshotEvents?: SnapshotEvents;
}

export interface PlannedCopy {
  /** In plan order (database by database, routes in each database's order). */
  plans: RouteCopyPlan[];
  /** Every chunk not loaded yet, and every loaded chunk whose snapshot reads are not published. */
  pending: PendingChunk[];
}

/**
 * Record the run in every target and each route's chunks (sized from the relations as the
 * snapshot sees them); on resume, keep the chunk log and list what is left.
 */
export async function planCopy(ctx: CopyPlanContext): Promise<PlannedCopy> {
  const reader = await ctx.session.attach();
  try {
    const readStats = statsReader(reader);
    const laterSnapshot = new Set<string>();
    // Databases are set up side by side (each is a round trip per table); results keep plan order.
    const perDatabase = await mapLimited(ctx.states, SETUP_IN_FLIGHT, (state) =>
      withSession(atService(state.service.url), (client) =>
        planDatabase(ctx, state, client, readStats, laterSnapshot),
      ),
    );
    return { plans: perDatabase.flatMap((d) => d.plans), pending: perDatabase.flatMap((d) => d.pending) };
  } finally {
    await reader.query('COMMIT').catch(() => {});
    await reader.end().catch(() => {});
  }
}

/** Target databases prepared at once before the copy starts. */
const SETUP_IN_FLIGHT = 4;

type StatsReader = (route: TableRoute) => Promise<RelationStats[]>;

/**
 * A projection reads the same relation as its owner: its stats are read once, under the snapshot.
 * The one snapshot connection answers one query at a time: stats reads take turns.
 */
function statsReader(reader: Client): StatsReader {
  const cache = new Map<string, Promise<RelationStats[]>>();
  let readerTurn: Promise<unknown> = Promise.resolve();
  return (route) => {
    const key = `${route.source.schema}.${route.source.name}`;
    let stats = cache.get(key);
    if (!stats) {
      stats = readerTurn.then(() => readRelationStats(reader, route));
      readerTurn = stats.catch(() => undefined);
      cache.set(key, stats);
    }
    return stats;
  };
}

async function planDatabase(
  ctx: CopyPlanContext,
  state: TargetState,
  client: Client,
  readStats: StatsReader,
  /** Databases whose later snapshot is recorded already. */
  laterSnapshot: Set<string>,
): Promise<PlannedCopy> {
  const { routing, log, session } = ctx;
  const names = routing.names;
  const plans: RouteCopyPlan[] = [];
  const pending: PendingChunk[] = [];
  await ensureStateSchema(client, names.stateSchema);
  if (!state.migration)
    await log.recordMigration(client, {
      slot: names.slot,
      publication: names.publication,
      consistentLsn: ctx.consistentLsn,
    });
  const existing = groupByRoute(await log.chunks(client));
  for (const route of state.service.tables) {
    const publishes = ctx.snapshotEvents?.publishes(route.id) === true;
    let chunks = existing.get(route.id);
    if (!chunks) {
      await log.planRoute(
        client,
        route.id,
        planChunks(await readStats(route), {
          chunkBytes: ctx.chunkBytes,
          jobs: ctx.jobs,
          blockRanges: !publishes,
        }),
      );
      chunks = (await log.chunks(client)).filter((c) => c.routeId === route.id);
    } else if (ctx.mode === 'resume' && needsRestart(chunks)) {
      // Block ranges are not stable across snapshots (updates move rows): start the table over.
      await log.restartRoute(client, route.id, route.target);
      ctx.emit({
        type: 'route-restarted',
        routeId: route.id,
        reason: 'block-range chunks cannot be resumed under a new snapshot',
      });
      chunks = chunks.map((c) => ({ ...c, status: 'pending' as const }));
    }
    const open = chunks.filter((c) => c.status !== 'done');
    const unpublished = (c: ChunkRecord) => publishes && !ctx.snapshotEvents!.published(route.id, c.chunkNo);
    for (const chunk of open)
      pending.push({ route, chunk, ...(unpublished(chunk) ? { publish: true } : {}) });
    // Loaded but not published (events.snapshot turned on while the copy was interrupted, or a
    // publish-only read that failed): read again for publishing alone. A kill cannot leave this
    // state behind: a chunk's reads commit before its rows (chunk-copier.ts).
    for (const chunk of chunks) {
      if (chunk.status === 'done' && unpublished(chunk)) pending.push({ route, chunk, publish: true });
    }
    // Rows of this database will come from two snapshots: note it before loading any.
    if (open.length && session.lsn && !laterSnapshot.has(state.service.database)) {
      laterSnapshot.add(state.service.database);
      await log.recordLaterSnapshot(client, session.lsn);
    }
    plans.push({
      routeId: route.id,
      database: route.database,
      target: route.target,
      chunks: chunks.length,
      chunksDone: chunks.length - open.length,
      estimatedBytes: chunks.reduce((sum, c) => sum + c.estimatedBytes, 0),
      estimatedRows: Math.max(0, route.sourceTable.rowEstimate),
    });
  }
  return { plans, pending };
}

function needsRestart(chunks: ChunkRecord[]): boolean {
  return (
    chunks.some((c) => c.method === 'ctid') &&
    chunks.some((c) => c.status === 'done') &&
    chunks.some((c) => c.status !== 'done')
  );
}

function groupByRoute(chunks: ChunkRecord[]): Map<string, ChunkRecord[]> {
  const map = new Map<string, ChunkRecord[]>();
  for (const chunk of chunks) {
    const list = map.get(chunk.routeId) ?? [];
    list.push(chunk);
    map.set(chunk.routeId, list);
  }
  return map;
}
