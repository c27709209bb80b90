import { availableParallelism } from 'node:os';
import { slotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import { CopyLog } from '../state/copy-log.js';
import { acquireMigrationLock } from '../state/migration-lock.js';
import { decideMode } from './copy-mode.js';
import { groupReads } from './copy-plan.js';
import { runCopyWorkers, type RouteTally } from './copy-workers.js';
import type { CopyResult, FailedChunk, RouteCopyPlan, RouteCopySummary } from './events.js';
import { finishDatabases } from './finish-copy.js';
import { catchUpLaterSnapshots } from './later-snapshot.js';
import { openCopySnapshot } from './open-snapshot.js';
import type { CopyOptions } from './options.js';
import { planCopy } from './plan-copy.js';
import { checkSource, readTargetStates } from './preflight.js';
import type { SnapshotSession } from './snapshot-session.js';

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
      return alreadyComplete(routing, recorded[0]!.consistentLsn);
    }

    // Before the slot and the plan: a broker that cannot be reached fails the copy before it
    // writes anything; opening fences earlier publishers and learns which chunks are published.
    const snapshotEvents = options.snapshotEvents;
    await snapshotEvents?.open(jobs);
    const point = await openCopySnapshot(routing, mode, slot, recorded, emit);
    const { consistentLsn } = point;
    session = point.session;
    snapshotEvents?.start(consistentLsn);
    const log = new CopyLog(names.stateSchema, names.migration);
    const chunkBytes = options.chunkBytes ?? 128 * 1024 * 1024;
    const planContext = {
      routing,
      states,
      mode,
      consistentLsn,
      session,
      log,
      chunkBytes,
      jobs,
      emit,
      ...(snapshotEvents ? { snapshotEvents } : {}),
    };
    const { plans, pending } = await planCopy(planContext);

    const snapshot = session.snapshot;
    emit({ type: 'copy-started', mode, slot: names.slot, consistentLsn, snapshot, jobs, routes: plans });
    const workerOptions = {
      routing,
      session,
      jobs,
      emit,
      signal: options.signal,
      // A resumed copy reads under a later snapshot: its reads stand for that snapshot's LSN.
      ...(snapshotEvents
        ? { snapshotEvents: { events: snapshotEvents, lsn: session.lsn ?? consistentLsn } }
        : {}),
    };
    const { tallies, failed } = await runCopyWorkers(groupReads(pending), workerOptions);
    await session.close();
    session = undefined;

    let complete = failed.length === 0 && !options.signal?.aborted;
    // Every snapshot read is committed before the catch-up publishes a change (catchUpSinks).
    if (complete) complete = await catchUpLaterSnapshots(routing, emit, options.signal, options.catchUpSinks);
    if (complete)
      await finishDatabases(routing, plans, log, { jobs, buildIndexes: options.buildIndexes, emit });

    const routes = summarizeRoutes(routing, plans, tallies, failed);
    const seconds = (Date.now() - started) / 1000;
    const published = snapshotEvents ? { snapshotEvents: snapshotEvents.readsPublished } : {};
    emit({
      type: 'copy-finished',
      complete,
      seconds,
      rows: sum(routes, 'rows'),
      bytes: sum(routes, 'bytes'),
      ...published,
    });
    return { complete, mode, slot: names.slot, consistentLsn, seconds, routes, failed, ...published };
  } finally {
    await session?.close();
    await options.snapshotEvents?.close().catch(() => undefined);
    await lock.release();
  }
}

function alreadyComplete(routing: Routing, consistentLsn: string): CopyResult {
  const slot = routing.names.slot;
  return {
    complete: true,
    mode: 'already-complete',
    slot,
    consistentLsn,
    seconds: 0,
    routes: [],
    failed: [],
  };
}

function summarizeRoutes(
  routing: Routing,
  plans: readonly RouteCopyPlan[],
  tallies: ReadonlyMap<string, RouteTally>,
  failed: readonly FailedChunk[],
): RouteCopySummary[] {
  return routing.routes.map((route) => {
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
}

function sum(routes: RouteCopySummary[], field: 'rows' | 'bytes'): number {
  return routes.reduce((total, r) => total + r[field], 0);
}
