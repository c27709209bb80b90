import { LatencyHistogram } from './latency-histogram.js';
import {
  OPERATION_KINDS,
  type KindStats,
  type LoadStats,
  type OperationKind,
  type RowCounts,
} from './load-types.js';

/** Counters of one load run; only committed transactions count their row changes. */
export class LoadStatsCollector {
  private readonly latency = new LatencyHistogram();
  private readonly byKind = Object.fromEntries(
    OPERATION_KINDS.map((k) => [k, { transactions: 0, failed: 0, inserted: 0, updated: 0, deleted: 0 }]),
  ) as Record<OperationKind, KindStats>;
  private readonly byTable: Record<string, RowCounts> = {};
  private readonly errors: Record<string, number> = {};
  committed = 0;
  failed = 0;

  commit(kind: OperationKind, changes: ReadonlyMap<string, RowCounts>, latencyMs: number): void {
    this.committed++;
    this.latency.record(latencyMs);
    const k = this.byKind[kind];
    k.transactions++;
    for (const [table, c] of changes) {
      const t = (this.byTable[table] ??= { inserted: 0, updated: 0, deleted: 0 });
      t.inserted += c.inserted;
      t.updated += c.updated;
      t.deleted += c.deleted;
      k.inserted += c.inserted;
      k.updated += c.updated;
      k.deleted += c.deleted;
    }
  }

  fail(kind: OperationKind, sqlstate: string): void {
    this.failed++;
    this.byKind[kind].failed++;
    this.errors[sqlstate] = (this.errors[sqlstate] ?? 0) + 1;
  }

  snapshot(fields: {
    targetRate: number;
    elapsedSeconds: number;
    scheduled: number;
    dropped: number;
    inFlight: number;
    queued: number;
  }): LoadStats {
    const rows = { inserted: 0, updated: 0, deleted: 0 };
    for (const t of Object.values(this.byTable)) {
      rows.inserted += t.inserted;
      rows.updated += t.updated;
      rows.deleted += t.deleted;
    }
    const copy = <T extends object>(o: Record<string, T>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { ...v }]));
    return {
      ...fields,
      committed: this.committed,
      failed: this.failed,
      achievedRate: fields.elapsedSeconds > 0 ? this.committed / fields.elapsedSeconds : 0,
      latencyMs: {
        p50: this.latency.percentile(0.5),
        p99: this.latency.percentile(0.99),
        max: this.latency.max,
        mean: this.latency.mean,
      },
      byKind: copy(this.byKind) as Record<OperationKind, KindStats>,
      byTable: copy(this.byTable),
      rows,
      errors: { ...this.errors },
    };
  }
}
