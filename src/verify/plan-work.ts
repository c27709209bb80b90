import { RouteCollector } from './route-collector.js';
import type { RouteShape } from './route-shape.js';
import type { RunRecord } from './run-record.js';
import type { RunResources } from './run-resources.js';
import type { VerifyScope } from './run-scope.js';
import type { Segment, SegmentContext } from './compare-segment.js';
import { estimatedRows, hashBucketCount, planSegments } from './segment-plan.js';
import type { StoredSegment } from './state.js';
import type { Snapshots } from './take-snapshots.js';
import { groupBySource } from './verify-routes.js';

/** One segment of one monolith table, compared for every route it feeds that still needs it. */
export interface SegmentWork {
  ctx: SegmentContext;
  shapes: RouteShape[];
  segment: Segment;
}

export interface PlannedWork {
  /** By route id, in the routes' order. */
  collectors: Map<string, RouteCollector>;
  /** Largest segments first, so the tail of the run is short segments. */
  work: SegmentWork[];
}

/**
 * Cut every verified monolith table into segments (one plan for the table's owner and its
 * projections, recorded in each of their databases) and list what is left to compare: on a
 * resumed run, the segments found clean are counted and skipped.
 */
export async function planWork(
  scope: VerifyScope,
  run: RunResources,
  snapshots: Snapshots,
  shapes: ReadonlyMap<string, RouteShape>,
  record: RunRecord,
): Promise<PlannedWork> {
  const { state, routes, maxKeys, bucketRows, segmentRows } = scope;
  const { runId, resumed } = record;
  const collectors = new Map(
    routes.map((r, i) => [r.id, new RouteCollector(shapes.get(r.id)!, i, maxKeys, run.spool)]),
  );
  const work: SegmentWork[] = [];
  for (const group of groupBySource(routes)) {
    const owner = group[0]!;
    const ctx: SegmentContext = {
      source: snapshots.source,
      targets: snapshots.targets,
      bucketRows,
      hashBuckets: hashBucketCount(estimatedRows(owner.sourceTable), bucketRows),
    };
    const stored = new Map<string, StoredSegment[]>();
    for (const route of group) {
      stored.set(
        route.id,
        resumed ? await state.segments(run.stateClients.get(route.database)!, runId, route.id) : [],
      );
    }
    let plan: Segment[] | undefined = [...stored.values()].find((s) => s.length > 0);
    plan ??= await snapshots.source.use((c) =>
      planSegments(c, shapes.get(owner.id)!, owner.sourceTable, segmentRows),
    );
    for (const route of group) {
      if (!stored.get(route.id)!.length)
        await state.planSegments(run.stateClients.get(route.database)!, runId, route.id, plan);
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
  work.sort((a, b) => b.segment.estimatedRows - a.segment.estimatedRows);
  return { collectors, work };
}
