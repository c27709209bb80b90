import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapLimited } from '../concurrency.js';
import { CarveError } from '../errors.js';
import { atMonolith, atService, type Client, openSession } from '../pg/connect.js';
import { assertNoForeignObjects } from '../sync/target-guard.js';
import { formatLsn } from '../pg/lsn.js';
import { compareSegment, type Segment, type SegmentContext } from './compare-segment.js';
import { checkCutForeignKey } from './orphan-check.js';
import { comparePartitions } from './partition-check.js';
import { writeRepairFile } from './repair-file.js';
import { RepairSpool, RouteCollector } from './route-collector.js';
import type { RouteShape } from './route-shape.js';
import { estimatedRows, hashBucketCount, planSegments } from './segment-plan.js';
import { checkSequences } from './sequence-check.js';
import { openAnchor, SnapshotPool, type Anchor } from './snapshot-pool.js';
import { alignTargets, type Aligned } from './target-alignment.js';
import { VerifyState } from './state.js';
import { groupBySource, readShapes, selectRoutes } from './verify-routes.js';
import type {
  ForeignKeyVerifyResult,
  SequenceVerifyResult,
  TableVerifyResult,
  VerifyResult,
} from './events.js';
import type { VerifyOptions } from './options.js';

export type * from './events.js';
export type { HoldProvider, VerifyOptions } from './options.js';

/**
 * Prove that the service databases hold exactly the monolith's rows, at one consistent point:
 *
 * 1. align: a temporary logical slot gives a monolith snapshot S exactly at LSN L; every target is
 *    brought to L (sync held there, or its recorded position proven equivalent — target-alignment.ts),
 *    and a snapshot is taken in each target before the hold is released;
 * 2. rows: every route (owned tables and projections) is compared segment by segment with bucket
 *    checksums computed on the server, and differing buckets are narrowed to the exact keys
 *    (compare-segment.ts); progress is stored per segment so an interrupted verify resumes;
 * 3. cut foreign keys are checked across databases (orphan-check.ts);
 * 4. sequences are checked against the columns they feed (sequence-check.ts).
 *
 * Reads only, except carve's own verify tables in the targets' state schema (and the hold rows).
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const { routing } = options;
  const names = routing.names;
  const emit = options.onEvent ?? (() => {});
  const jobs = Math.max(1, Math.floor(options.jobs ?? 4));
  const app = options.applicationName ?? 'carve verify';
  const maxKeys = options.maxKeysPerTable ?? 100_000;
  const bucketRows = Math.max(1, options.bucketRows ?? 1000);
  const segmentRows = Math.max(1, options.segmentRows ?? 1_000_000);

  const routes = selectRoutes(routing, options.tables);
  const foreignKeys = routing.cutForeignKeys.filter((fk) => routes.some((r) => r.id === fk.from.routeId));
  const databases = new Set([...routes.map((r) => r.database), ...foreignKeys.map((fk) => fk.to.database)]);
  const services = routing.services.filter((s) => databases.has(s.database));

  const state = new VerifyState(names.stateSchema, names.migration);
  const stateClients = new Map<string, Client>();
  const pools: SnapshotPool[] = [];
  const anchors: Anchor[] = [];
  const spoolDir = join(tmpdir(), `carve-verify-${process.pid}-${randomUUID().slice(0, 8)}`);
  const spool = options.repairSqlFile ? new RepairSpool(spoolDir) : undefined;
  let aligned: Aligned | undefined;
  try {
    await Promise.all(
      services.map(async (s) => {
        const client = await openSession(atService(s.url), { applicationName: app });
        stateClients.set(s.database, client);
        // Before reading any target table: nothing planted there may run (docs/security.md).
        await assertNoForeignObjects(client, s, names.stateSchema, 'verify');
        await state.ensure(client);
      }),
    );
    let runId: string = randomUUID();
    let resumed = false;
    if (options.resume) {
      const found = (
        await Promise.all([...stateClients.values()].map((c) => state.latestUnfinished(c)))
      ).filter((r) => r !== undefined);
      found.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
      if (found[0]) {
        runId = found[0].runId;
        resumed = true;
      }
    }

    // 1. One consistent point on both sides.
    const alignStart = Date.now();
    aligned = await alignTargets({
      routing,
      services,
      routes,
      mode: options.alignment ?? 'auto',
      sync: options.sync,
      catchUp: options.catchUp === true,
      holdTimeoutMs: options.holdTimeoutMs ?? 300_000,
      applicationName: app,
      requestedBy: `carve verify ${runId}`,
      signal: options.signal,
    });
    const lsn = formatLsn(aligned.point.lsn);
    let targetPools: Map<string, SnapshotPool>;
    let sourcePool: SnapshotPool;
    try {
      const sourceAnchor = await openAnchor(atMonolith(routing.sourceUrl), app, aligned.point.snapshot);
      anchors.push(sourceAnchor);
      await aligned.point.close();
      sourcePool = new SnapshotPool(atMonolith(routing.sourceUrl), sourceAnchor.snapshot, MAX_POOL, app);
      targetPools = new Map();
      await Promise.all(
        services.map(async (s) => {
          const anchor = await openAnchor(atService(s.url), app);
          anchors.push(anchor);
          targetPools.set(s.database, new SnapshotPool(atService(s.url), anchor.snapshot, MAX_POOL, app));
        }),
      );
    } finally {
      await aligned.point.close();
      await aligned.release();
    }
    pools.push(sourcePool, ...targetPools.values());
    const alignMs = Date.now() - alignStart;
    emit({ type: 'aligned', lsn, alignment: aligned.method, ms: alignMs });
    await Promise.all([...stateClients.values()].map((client) => state.startRun(client, runId, lsn)));
    emit({ type: 'verify-started', runId, lsn, alignment: aligned.method, routes: routes.length, resumed });

    // 2. Rows.
    const rowsStart = Date.now();
    const shapes = await readShapes(routes, sourcePool, targetPools);
    const collectors = new Map(
      routes.map((r, i) => [r.id, new RouteCollector(shapes.get(r.id)!, i, maxKeys, spool)]),
    );
    const work: { ctx: SegmentContext; shapes: RouteShape[]; segment: Segment }[] = [];
    for (const group of groupBySource(routes)) {
      const owner = group[0]!;
      const ctx: SegmentContext = {
        source: sourcePool,
        targets: targetPools,
        bucketRows,
        hashBuckets: hashBucketCount(estimatedRows(owner.sourceTable), bucketRows),
      };
      const stored = new Map<string, Awaited<ReturnType<VerifyState['segments']>>>();
      for (const route of group) {
        stored.set(
          route.id,
          resumed ? await state.segments(stateClients.get(route.database)!, runId, route.id) : [],
        );
      }
      let plan: Segment[] | undefined = [...stored.values()].find((s) => s.length > 0);
      plan ??= await sourcePool.use((c) =>
        planSegments(c, shapes.get(owner.id)!, owner.sourceTable, segmentRows),
      );
      for (const route of group) {
        if (!stored.get(route.id)!.length)
          await state.planSegments(stateClients.get(route.database)!, runId, route.id, plan);
        collectors.get(route.id)!.segments = plan.length;
      }
      for (const segment of plan) {
        const pending: RouteShape[] = [];
        for (const route of group) {
          const done = stored.get(route.id)!.find((s) => s.no === segment.no && s.status === 'ok');
          const collector = collectors.get(route.id)!;
          if (done) {
            collector.resumedSegments++;
            collector.segmentsDone++;
            collector.sourceRows += done.sourceRows;
            collector.targetRows += done.targetRows;
          } else pending.push(shapes.get(route.id)!);
        }
        if (pending.length) work.push({ ctx, shapes: pending, segment });
      }
    }
    const tables: TableVerifyResult[] = [];
    const finishRoute = (routeId: string) => {
      const route = routes.find((r) => r.id === routeId)!;
      const result = collectors.get(routeId)!.result(route.kind);
      tables.push(result);
      emit({ type: 'route-done', result });
    };
    for (const route of routes) {
      const c = collectors.get(route.id)!;
      if (c.segmentsDone === c.segments) finishRoute(route.id);
    }
    let rowsRead = 0;
    // One state connection per database, shared by concurrent segments: one statement at a time.
    const stateQueues = new Map<string, Promise<unknown>>();
    const serially = <T>(database: string, fn: () => Promise<T>): Promise<T> => {
      const next = (stateQueues.get(database) ?? Promise.resolve()).then(fn, fn);
      stateQueues.set(
        database,
        next.catch(() => {}),
      );
      return next;
    };
    // Largest tables first, so the tail of the run is short segments.
    work.sort((a, b) => b.segment.estimatedRows - a.segment.estimatedRows);
    const fkResults: ForeignKeyVerifyResult[] = [];
    let foreignKeysMs = 0;
    // 3. Cut foreign keys, alongside the rows: their checks wait on round trips as much as on CPU.
    const foreignKeyChecks = (async () => {
      const fkStart = Date.now();
      await mapLimited(
        foreignKeys,
        jobs,
        async (fk) => {
          if (options.signal?.aborted) throw aborted();
          const result = await checkCutForeignKey(
            { source: sourcePool, targets: targetPools, maxKeys },
            fk,
            shapes.get(fk.from.routeId)!,
          );
          fkResults.push(result);
          emit({ type: 'foreign-key-done', result });
        },
        { onFailure: 'stop' },
      );
      foreignKeysMs = Date.now() - fkStart;
    })();
    const rowChecks = mapLimited(
      work,
      jobs,
      async (item) => {
        if (options.signal?.aborted) throw aborted();
        for (const s of item.shapes) collectors.get(s.routeId)!.segmentStarted();
        const outcomes = await compareSegment(item.ctx, item.shapes, collectors, item.segment);
        for (const o of outcomes) {
          const collector = collectors.get(o.routeId)!;
          collector.segmentFinished();
          collector.sourceRows += o.sourceRows;
          collector.targetRows += o.targetRows;
          // Read right away: other segments of the route finish while this one awaits its state write.
          const last = ++collector.segmentsDone === collector.segments;
          rowsRead += o.sourceRows + o.targetRows + o.drilledRows;
          const shape = shapes.get(o.routeId)!;
          await serially(shape.database, () =>
            state.finishSegment(stateClients.get(shape.database)!, runId, o.routeId, item.segment.no, {
              ...o,
              lsn,
            }),
          );
          emit({
            type: 'segment-done',
            routeId: o.routeId,
            segment: item.segment.no,
            segments: collector.segments,
            status: o.status,
            rows: o.sourceRows,
          });
          if (last) finishRoute(o.routeId);
        }
      },
      { onFailure: 'stop' },
    );
    let rowsMs = 0;
    const settled = await Promise.allSettled([
      rowChecks.then(() => (rowsMs = Date.now() - rowsStart)),
      foreignKeyChecks,
    ]);
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    tables.sort(
      (a, b) => routes.findIndex((r) => r.id === a.routeId) - routes.findIndex((r) => r.id === b.routeId),
    );
    for (const table of tables) {
      const route = routes.find((r) => r.id === table.routeId)!;
      if (route.kind !== 'owned' || route.sourceTable.partitionKey === undefined) continue;
      const partitions = await comparePartitions(route, sourcePool, targetPools.get(route.database)!);
      if (partitions) table.partitions = partitions;
    }
    fkResults.sort(
      (a, b) =>
        foreignKeys.findIndex((f) => f.name === a.name) - foreignKeys.findIndex((f) => f.name === b.name),
    );

    // 4. Sequences.
    const seqStart = Date.now();
    const mode = options.sequences ?? 'auto';
    const live =
      aligned.method === 'hold-api' || aligned.method === 'hold-table' || aligned.method === 'catch-up';
    const strict = mode === 'strict' || (mode === 'auto' && !live);
    const perDatabase = await Promise.all(
      services.map(async (s) => {
        const owned = routes
          .filter((r) => r.database === s.database && r.kind === 'owned')
          .map((r) => r.target);
        if (!owned.length) return [];
        const results = await checkSequences(targetPools.get(s.database)!, s.database, owned, strict);
        emit({ type: 'sequences-done', database: s.database, results });
        return results;
      }),
    );
    const sequences: SequenceVerifyResult[] = perDatabase.flat();

    const sequencesMs = Date.now() - seqStart;
    const ok =
      tables.every((t) => t.status === 'ok') &&
      fkResults.every((f) => f.status !== 'orphans') &&
      sequences.every((s) => !s.failing);
    await Promise.all([...stateClients.values()].map((client) => state.finishRun(client, runId, ok)));
    if (spool && options.repairSqlFile) {
      await writeRepairFile(
        options.repairSqlFile,
        { runId, lsn },
        services,
        routes.map((r, index) => ({ index, routeId: r.id, database: r.database })),
        spool,
        sequences,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    emit({ type: 'verify-finished', ok, seconds });
    return {
      ok,
      runId,
      lsn,
      alignment: aligned.method,
      seconds,
      tables,
      foreignKeys: fkResults,
      sequences,
      rowsRead,
      timings: { alignMs, rowsMs, foreignKeysMs, sequencesMs },
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(anchors.map((a) => a.close()));
    await Promise.all([...stateClients.values()].map((c) => c.end().catch(() => {})));
    await spool?.closeAll();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/**
 * Connections are opened on demand and kept per database; their number is bounded by the number of
 * workers (segments and foreign keys in flight), not by the pool, so that no worker ever waits for
 * a connection while holding another (which could deadlock).
 */
const MAX_POOL = 1000;

function aborted(): CarveError {
  return new CarveError('VERIFY_ABORTED', 'verify was interrupted', {
    hint: 'Run it again with --resume: segments already found clean are not read again.',
  });
}
