import { availableParallelism } from 'node:os';
import { CarveError } from '../errors.js';
import { formatLsn } from '../pg/lsn.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { ensurePublication } from '../pg/replication/publication.js';
import { createSlotWithSnapshot, dropSlot, slotInfo, type SlotInfo } from '../pg/replication/slot.js';
import { startOverHint } from '../sync/start-over-hint.js';
import type { Routing, TableRoute } from '../routing/model.js';
import { CopyLog, type ChunkRecord } from '../state/copy-log.js';
import { acquireMigrationLock } from '../state/migration-lock.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { planChunks } from './chunk-planner.js';
import type { CopyResult, RouteCopyPlan, RouteCopySummary } from './events.js';
import { groupReads, readRelationStats, type PendingChunk } from './copy-plan.js';
import { runCopyWorkers } from './copy-workers.js';
import { mapLimited } from '../concurrency.js';
import { ensurePartitions } from './ensure-partitions.js';
import { finishDatabase } from './post-load.js';
import { catchUpLaterSnapshots } from './later-snapshot.js';
import { checkSource, readTargetStates, type TargetState } from './preflight.js';
import { exportFreshSnapshot, snapshotSession, type SnapshotSession } from './snapshot-session.js';
import type { RelationStats } from './chunk-planner.js';
import type { CopyOptions } from './options.js';

export type { CopyOptions } from './options.js';

/**
 * Snapshot-consistent, parallel, resumable copy of every routed table.
 *
 * A fresh copy creates the publication, then the slot with an exported snapshot: the snapshot
 * is exactly the state before the slot's consistent point, so copy + stream has no gap and no
 * overlap. The consistent point is recorded in every target as its applied position.
 * A resumed copy reads under a new snapshot (the old one died with its process); see
 * exportFreshSnapshot for why the stream still converges.
 */
export async function copy(options: CopyOptions): Promise<CopyResult> {
  const { routing } = options;
  const names = routing.names;
  const emit = options.onEvent ?? (() => {});
  const jobs = Math.max(1, options.jobs ?? Math.max(2, availableParallelism()));
  const started = Date.now();

  // Everything that can be wrong is checked before the first write.
  await checkSource(routing.sourceUrl);
  const lock = await acquireMigrationLock(routing.sourceUrl, names.migration, 'copy');
  let session: SnapshotSession | undefined;
  try {
    const states = await readTargetStates(routing);
    const slot = await slotInfo(routing.sourceUrl, names.slot);
    const recorded = states.map((s) => s.migration).filter((m) => m !== undefined);
    const mode = decideMode(options.resume === true, states, slot, routing);

    if (mode === 'resume' && recorded.length && recorded.every((m) => m.copyFinishedAt)) {
      return {
        complete: true,
        mode: 'already-complete',
        slot: names.slot,
        consistentLsn: recorded[0]!.consistentLsn,
        seconds: 0,
        routes: [],
        failed: [],
      };
    }

    // Moving tables only; a table's projections read the same source. Unlogged tables write no
    // WAL, so no publication can carry them: they are copied once (plan warns about them).
    const sources = uniqueSources(routing.routes.filter((r) => !r.sourceTable.unlogged));
    let consistentLsn: string;
    await withSession(atMonolith(routing.sourceUrl), (client) =>
      ensurePublication(client, names.publication, sources),
    );
    await ensurePartitions(routing, emit);
    if (mode === 'fresh') {
      if (slot.exists) await dropSlot(routing.sourceUrl, names.slot, { wait: true }); // our own leftover: see decideMode
      const created = await createSlotWithSnapshot(routing.sourceUrl, names.slot);
      consistentLsn = formatLsn(created.consistentPoint);
      session = snapshotSession(routing.sourceUrl, created.snapshotName, () => created.close());
    } else {
      consistentLsn = recorded[0]!.consistentLsn;
      session = await exportFreshSnapshot(routing.sourceUrl);
    }

    const log = new CopyLog(names.stateSchema, names.migration);
    const plans: RouteCopyPlan[] = [];
    const pending: PendingChunk[] = [];
    const laterSnapshot = new Set<string>();
    const reader = await session.attach();
    try {
      // A projection reads the same relation as its owner: read its stats once, under the snapshot.
      // The one snapshot connection answers one query at a time: stats reads take turns.
      const statsCache = new Map<string, Promise<RelationStats[]>>();
      let readerTurn: Promise<unknown> = Promise.resolve();
      const readStats = (route: TableRoute) => {
        const stats = readerTurn.then(() => readRelationStats(reader, route));
        readerTurn = stats.catch(() => undefined);
        return stats;
      };
      // Databases are set up side by side (each is a round trip per table); results keep plan order.
      const perDatabase = await mapLimited(states, SETUP_IN_FLIGHT, (state) =>
        withSession(atService(state.service.url), async (client) => {
          const dbPlans: RouteCopyPlan[] = [];
          const dbPending: PendingChunk[] = [];
          await ensureStateSchema(client, names.stateSchema);
          if (!state.migration)
            await log.recordMigration(client, {
              slot: names.slot,
              publication: names.publication,
              consistentLsn,
            });
          const existing = groupByRoute(await log.chunks(client));
          for (const route of state.service.tables) {
            let chunks = existing.get(route.id);
            if (!chunks) {
              const key = `${route.source.schema}.${route.source.name}`;
              let stats = statsCache.get(key);
              if (!stats) statsCache.set(key, (stats = readStats(route)));
              await log.planRoute(
                client,
                route.id,
                planChunks(await stats, { chunkBytes: options.chunkBytes ?? 128 * 1024 * 1024, jobs }),
              );
              chunks = (await log.chunks(client)).filter((c) => c.routeId === route.id);
            } else if (mode === 'resume' && needsRestart(chunks)) {
              // Block ranges are not stable across snapshots (updates move rows): start the table over.
              await log.restartRoute(client, route.id, route.target);
              emit({
                type: 'route-restarted',
                routeId: route.id,
                reason: 'block-range chunks cannot be resumed under a new snapshot',
              });
              chunks = chunks.map((c) => ({ ...c, status: 'pending' as const }));
            }
            const open = chunks.filter((c) => c.status !== 'done');
            for (const chunk of open) dbPending.push({ route, chunk });
            // Rows of this database will come from two snapshots: note it before loading any.
            if (open.length && session!.lsn && !laterSnapshot.has(state.service.database)) {
              laterSnapshot.add(state.service.database);
              await log.recordLaterSnapshot(client, session!.lsn);
            }
            dbPlans.push({
              routeId: route.id,
              database: route.database,
              target: route.target,
              chunks: chunks.length,
              chunksDone: chunks.length - open.length,
              estimatedBytes: chunks.reduce((sum, c) => sum + c.estimatedBytes, 0),
              estimatedRows: Math.max(0, route.sourceTable.rowEstimate),
            });
          }
          return { dbPlans, dbPending };
        }),
      );
      for (const { dbPlans, dbPending } of perDatabase) {
        plans.push(...dbPlans);
        pending.push(...dbPending);
      }
    } finally {
      await reader.query('COMMIT').catch(() => {});
      await reader.end().catch(() => {});
    }

    emit({
      type: 'copy-started',
      mode,
      slot: names.slot,
      consistentLsn,
      snapshot: session.snapshot,
      jobs,
      routes: plans,
    });
    const { tallies, failed } = await runCopyWorkers(groupReads(pending), {
      routing,
      session,
      jobs,
      emit,
      signal: options.signal,
    });
    await session.close();
    session = undefined;

    let complete = failed.length === 0 && !options.signal?.aborted;
    if (complete) complete = await catchUpLaterSnapshots(routing, emit, options.signal);
    if (complete) {
      // Indexes compete with the copy for the same two cores; build them once the data is in.
      // Largest databases first, so that the longest index builds do not start last.
      const size = (database: string) =>
        plans.filter((p) => p.database === database).reduce((total, p) => total + p.estimatedBytes, 0);
      const bySize = [...routing.services].sort((a, b) => size(b.database) - size(a.database));
      await mapLimited(bySize, jobs, async (service) => {
        const t0 = Date.now();
        emit({ type: 'post-load-started', database: service.database });
        const result = await finishDatabase(routing, service, { jobs, buildIndexes: options.buildIndexes });
        await withSession(atService(service.url), (client) => log.markCopyFinished(client));
        emit({ type: 'post-load-done', database: service.database, ms: Date.now() - t0, ...result });
      });
    }

    const routes: RouteCopySummary[] = routing.routes.map((route) => {
      const tally = tallies.get(route.id) ?? { rows: 0, bytes: 0, ms: 0 };
      const plan = plans.find((p) => p.routeId === route.id);
      return {
        routeId: route.id,
        database: route.database,
        target: route.target,
        rows: tally.rows,
        bytes: tally.bytes,
        seconds: tally.ms / 1000,
        chunks: plan?.chunks ?? 0,
        failedChunks: failed.filter((f) => f.routeId === route.id).length,
      };
    });
    const seconds = (Date.now() - started) / 1000;
    emit({
      type: 'copy-finished',
      complete,
      seconds,
      rows: sum(routes, 'rows'),
      bytes: sum(routes, 'bytes'),
    });
    return { complete, mode, slot: names.slot, consistentLsn, seconds, routes, failed };
  } finally {
    await session?.close();
    await lock.release();
  }
}

/** Target databases prepared at once before the copy starts. */
const SETUP_IN_FLIGHT = 4;

function decideMode(
  resume: boolean,
  states: TargetState[],
  slot: SlotInfo,
  routing: Routing,
): 'fresh' | 'resume' {
  const names = routing.names;
  const slotExists = slot.exists;
  const recorded = states.filter((s) => s.migration);
  const lsns = new Set(recorded.map((s) => s.migration!.consistentLsn));
  if (lsns.size > 1) {
    throw new CarveError(
      'COPY_STATE_INCONSISTENT',
      `Target databases record different runs of migration "${names.migration}"`,
      {
        details: {
          databases: recorded.map((s) => ({
            database: s.service.database,
            consistentLsn: s.migration!.consistentLsn,
          })),
        },
        hint: 'The targets were written by different copy runs; drop the service databases and start again with carve provision and carve copy.',
      },
    );
  }
  const nonEmpty = states.flatMap((s) => s.nonEmpty);
  if (recorded.length) {
    if (!resume) {
      throw new CarveError(
        'COPY_ALREADY_STARTED',
        `A copy of migration "${names.migration}" was already started into these databases`,
        {
          details: { databases: recorded.map((s) => s.service.database) },
          hint: 'Run `carve copy --resume` to finish it.',
        },
      );
    }
    if (!slot.exists || slot.walStatus === 'lost') {
      throw new CarveError(
        'COPY_SLOT_LOST',
        slot.exists
          ? `Replication slot ${names.slot} lost WAL it needed (wal_status = lost), so changes made since the copy began are lost`
          : `Replication slot ${names.slot} is gone, so changes made since the copy began are lost`,
        {
          details: { slot: names.slot, walStatus: slot.exists ? slot.walStatus : null },
          hint: startOverHint(routing),
        },
      );
    }
    return 'resume';
  }
  if (nonEmpty.length) {
    throw new CarveError('COPY_TARGET_NOT_EMPTY', `Target tables already hold rows: ${nonEmpty.join(', ')}`, {
      details: { routes: nonEmpty },
      hint: 'carve copies into empty tables only. Empty them (or re-provision), or use --resume to continue an earlier copy.',
    });
  }
  if (slotExists && !resume) {
    throw new CarveError(
      'COPY_SLOT_EXISTS',
      `Replication slot ${names.slot} already exists on the monolith but no target records it`,
      {
        details: { slot: names.slot },
        hint: `If it is a leftover of an interrupted carve copy, run again with --resume (it is recreated); otherwise another tool owns it: choose another migration name in the plan, or drop it with SELECT pg_drop_replication_slot('${names.slot}').`,
      },
    );
  }
  // With --resume, a slot nobody recorded and empty targets is our own copy killed between creating
  // the slot and recording it: nothing depends on it yet, so it is recreated.
  return 'fresh';
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

function uniqueSources(routes: TableRoute[]) {
  const seen = new Map<string, TableRoute['source']>();
  for (const route of routes) seen.set(`${route.source.schema}.${route.source.name}`, route.source);
  return [...seen.values()];
}

function sum(routes: RouteCopySummary[], field: 'rows' | 'bytes'): number {
  return routes.reduce((total, r) => total + r[field], 0);
}
