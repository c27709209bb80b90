import type { TableRouter } from './routed-tables.js';

/** Options, live statistics and final report of the write-load generator. */

export const OPERATION_KINDS = [
  'new_patient',
  'consultation',
  'prescription_fill',
  'lab_order',
  'appointment_book',
  'appointment_reschedule',
  'appointment_cancel',
  'claim_payment',
  'note_update',
  'document_update',
  'patient_update',
  'allergy_update',
  'waitlist_churn',
  'session_churn',
  'consent_delete',
  'analytics_ingest',
] as const;

export type OperationKind = (typeof OPERATION_KINDS)[number];

export interface LoadOptions {
  /** The monolith (seeded with `carve demo seed`). */
  url: string;
  /** Target write transactions per second, across all connections. */
  rate: number;
  /** Stop scheduling after this long. At least one of durationMs / maxTransactions is required. */
  durationMs?: number;
  /** Stop after scheduling this many transactions. */
  maxTransactions?: number;
  /** Concurrent connections (default 4). */
  connections?: number;
  /** Same seed, same sequence of operations (default 1). */
  seed?: number;
  /** Per-statement timeout on the load connections (default 30 s; 0 = none). */
  statementTimeoutMs?: number;
  /** Relative weights per operation kind; unlisted kinds keep their default weight. */
  mix?: Partial<Record<OperationKind, number>>;
  /**
   * Service-routed mode: each statement runs in the database that owns its table at that moment
   * (src/demo/load/routed-tables.ts; undefined = the monolith). A transaction touching tables in
   * two databases becomes two transactions, committed one after the other in the order first used.
   */
  router?: TableRouter;
  /**
   * Service-routed mode: when a foreign key rejected an operation before anything of it committed
   * (23503), the load calls this and runs the operation again once it resolves `true`: every row
   * the service databases had committed when it was called has reached the monolith (the reverse
   * streams' applied positions passed the service databases' WAL positions). `false`: they did not
   * within `timeoutMs`, and the write fails. Without it the load retries a few times at a fixed pace.
   */
  awaitReverse?: (timeoutMs: number) => Promise<boolean>;
}

export interface RowCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

export interface KindStats extends RowCounts {
  /** Committed transactions of this kind. */
  transactions: number;
  /** Transactions of this kind that failed (rolled back). */
  failed: number;
}

export interface LoadStats {
  targetRate: number;
  /** Seconds since the start. */
  elapsedSeconds: number;
  /** Transactions whose start time has come. */
  scheduled: number;
  committed: number;
  failed: number;
  /** Scheduled but never run: the queue overflowed (server far slower than the rate) or stop() came first. */
  dropped: number;
  inFlight: number;
  queued: number;
  /** committed / elapsed seconds. */
  achievedRate: number;
  /** Milliseconds from a transaction's scheduled start to its commit: queueing shows up here. */
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  byKind: Record<OperationKind, KindStats>;
  /** Committed row changes per table. */
  byTable: Record<string, RowCounts>;
  rows: RowCounts;
  /** Failed transactions by SQLSTATE ('client' for errors that carry none). */
  errors: Record<string, number>;
  /**
   * Service-routed mode: committed transactions per database ('monolith' or a service database);
   * a load transaction that spanned two databases counts once in each. Absent otherwise.
   */
  databases?: Record<string, number>;
  /**
   * Service-routed mode: operations run again because a monolith foreign key rejected them (23503:
   * the referenced row was written in a service database and the reverse stream had not yet
   * applied it), by SQLSTATE. Absent otherwise.
   */
  retries?: Record<string, number>;
  /**
   * Service-routed mode with `awaitReverse`: the waits for the reverse streams after a 23503 —
   * how many, how many ran out of time, and the longest / total milliseconds. Absent otherwise.
   */
  reverseWaits?: { count: number; timedOut: number; maxMs: number; totalMs: number };
  /**
   * Service-routed mode with `awaitReverse`: the waits of operations rejected in the monolith after
   * writing the parent themselves in a service database, until the child's table moved too (its
   * service's switch). Absent otherwise.
   */
  routeWaits?: { count: number; timedOut: number; maxMs: number; totalMs: number };
}

export interface LoadReport extends LoadStats {
  /** Why the run ended. */
  reason: 'duration' | 'count' | 'stopped';
}

export interface LoadHandle {
  /** Stop scheduling, let the transactions in flight finish, and report. Idempotent. */
  stop(): Promise<LoadReport>;
  /** Resolves when the run ends by duration, count or stop(). Rejects only if it could not start. */
  done: Promise<LoadReport>;
  stats(): LoadStats;
}
