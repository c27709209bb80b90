import { mapLimited } from '../concurrency.js';
import { CarveError } from '../errors.js';
import type { CutForeignKey } from '../routing/model.js';
import { compareSegment } from './compare-segment.js';
import type { ForeignKeyVerifyResult, TableVerifyResult } from './events.js';
import { checkCutForeignKey } from './orphan-check.js';
import { planWork, type SegmentWork } from './plan-work.js';
import type { RouteCollector } from './route-collector.js';
import type { RouteShape } from './route-shape.js';
import type { RunRecord } from './run-record.js';
import type { RunResources } from './run-resources.js';
import type { VerifyScope } from './run-scope.js';
import type { Snapshots } from './take-snapshots.js';
import { readShapes } from './verify-routes.js';

export interface RowsAndKeys {
  /** In the routes' order. */
  tables: TableVerifyResult[];
  /** In the cut foreign keys' order. */
  foreignKeys: ForeignKeyVerifyResult[];
  rowsRead: number;
  rowsMs: number;
  foreignKeysMs: number;
}

/**
 * Rows of every route, segment by segment (compare-segment.ts), and the cut foreign keys alongside
 * them (orphan-check.ts): their checks wait on round trips as much as on CPU. Each finished segment
 * is recorded before its event, so an interrupted run resumes after it.
 */
export async function checkRowsAndForeignKeys(
  scope: VerifyScope,
  run: RunResources,
  snapshots: Snapshots,
  record: RunRecord,
): Promise<RowsAndKeys> {
  const rowsStart = Date.now();
  const shapes = await readShapes(scope.routes, snapshots.source, snapshots.targets);
  const { collectors, work } = await planWork(scope, run, snapshots, shapes, record);
  const rows = new RowProgress(scope, run, collectors, record.runId, snapshots.lsn);
  rows.finishRoutesAlreadyDone();
  const keys = { results: [] as ForeignKeyVerifyResult[], ms: 0 };
  const foreignKeyChecks = (async () => {
    const fkStart = Date.now();
    await mapLimited(
      scope.foreignKeys,
      scope.jobs,
      async (fk) => keys.results.push(await checkForeignKey(scope, snapshots, shapes, fk)),
      { onFailure: 'stop' },
    );
    keys.ms = Date.now() - fkStart;
  })();
  const rowChecks = mapLimited(work, scope.jobs, (item) => rows.check(item), { onFailure: 'stop' });
  let rowsMs = 0;
  const settled = await Promise.allSettled([
    rowChecks.then(() => (rowsMs = Date.now() - rowsStart)),
    foreignKeyChecks,
  ]);
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  const routeOrder = (id: string) => scope.routes.findIndex((r) => r.id === id);
  const keyOrder = (name: string) => scope.foreignKeys.findIndex((f) => f.name === name);
  return {
    tables: rows.tables.sort((a, b) => routeOrder(a.routeId) - routeOrder(b.routeId)),
    foreignKeys: keys.results.sort((a, b) => keyOrder(a.name) - keyOrder(b.name)),
    rowsRead: rows.rowsRead,
    rowsMs,
    foreignKeysMs: keys.ms,
  };
}

async function checkForeignKey(
  scope: VerifyScope,
  snapshots: Snapshots,
  shapes: ReadonlyMap<string, RouteShape>,
  fk: CutForeignKey,
): Promise<ForeignKeyVerifyResult> {
  if (scope.options.signal?.aborted) throw aborted();
  const result = await checkCutForeignKey(
    { source: snapshots.source, targets: snapshots.targets, maxKeys: scope.maxKeys },
    fk,
    shapes.get(fk.from.routeId)!,
    scope.routing.routes.find((r) => r.id === fk.to.routeId)!,
  );
  scope.emit({ type: 'foreign-key-done', result });
  return result;
}

/** The rows side of the run: compares segments, records them, finishes each route with its last one. */
class RowProgress {
  readonly tables: TableVerifyResult[] = [];
  rowsRead = 0;
  /** One state connection per database, shared by concurrent segments: one statement at a time. */
  private readonly stateQueues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly scope: VerifyScope,
    private readonly run: RunResources,
    private readonly collectors: ReadonlyMap<string, RouteCollector>,
    private readonly runId: string,
    private readonly lsn: string,
  ) {}

  /** Routes whose every segment was found clean by the run this one resumes. */
  finishRoutesAlreadyDone(): void {
    for (const route of this.scope.routes) {
      const c = this.collectors.get(route.id)!;
      if (c.segmentsDone === c.segments) this.finishRoute(route.id);
    }
  }

  async check(item: SegmentWork): Promise<void> {
    const { scope, collectors } = this;
    if (scope.options.signal?.aborted) throw aborted();
    for (const s of item.shapes) collectors.get(s.routeId)!.segmentStarted();
    const outcomes = await compareSegment(item.ctx, item.shapes, collectors, item.segment);
    for (const o of outcomes) {
      const collector = collectors.get(o.routeId)!;
      collector.segmentFinished();
      collector.sourceRows += o.sourceRows;
      collector.targetRows += o.targetRows;
      // Read right away: other segments of the route finish while this one awaits its state write.
      const last = ++collector.segmentsDone === collector.segments;
      this.rowsRead += o.sourceRows + o.targetRows + o.drilledRows;
      const { database } = collector.shape;
      await this.serially(database, () =>
        scope.state.finishSegment(
          this.run.stateClients.get(database)!,
          this.runId,
          o.routeId,
          item.segment.no,
          {
            ...o,
            lsn: this.lsn,
          },
        ),
      );
      scope.emit({
        type: 'segment-done',
        routeId: o.routeId,
        segment: item.segment.no,
        segments: collector.segments,
        status: o.status,
        rows: o.sourceRows,
      });
      if (last) this.finishRoute(o.routeId);
    }
  }

  private finishRoute(routeId: string): void {
    const route = this.scope.routes.find((r) => r.id === routeId)!;
    const result = this.collectors.get(routeId)!.result(route.kind);
    this.tables.push(result);
    this.scope.emit({ type: 'route-done', result });
  }

  private serially<T>(database: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.stateQueues.get(database) ?? Promise.resolve()).then(fn, fn);
    this.stateQueues.set(
      database,
      next.catch(() => {}),
    );
    return next;
  }
}

function aborted(): CarveError {
  return new CarveError('VERIFY_ABORTED', 'verify was interrupted', {
    hint: 'Run it again with --resume: segments already found clean are not read again.',
  });
}
