import type { Routing } from '../routing/model.js';
import type { SyncEvent } from './events.js';
import type { SinkFactory } from './sink.js';

export interface BatchSettings {
  /** Commit the target transaction (at a source commit) after this many changes … */
  maxChanges: number;
  /** … or this many bytes of change data … */
  maxBytes: number;
  /** … or this long after it began (and always when the queue is empty). */
  maxDelayMs: number;
  /** Run the pending statements (inside the open transaction) once this many rows are pending. */
  pieceChanges: number;
  pieceBytes: number;
  /**
   * Bound of the sinks' queues together, one budget per streaming session (one queue may take all
   * of it when alone, half of it when there are several): a full budget pauses the stream
   * (backpressure). See queue-budget.ts.
   */
  queueBytes: number;
}

export interface SyncOptions {
  routing: Routing;
  onEvent?: (event: SyncEvent) => void;
  /** Stop (resolving `done`) once every target has applied what the monolith had committed at start. */
  untilCaughtUp?: boolean;
  batch?: Partial<BatchSettings>;
  /** Lag events every this many ms (default 1000). */
  lagIntervalMs?: number;
  /** Backoff between reconnects: first delay, cap (defaults 250 ms, 10 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Position-only writes of targets that received nothing, at most this often (default 1000 ms). */
  positionFlushMs?: number;
  /** How often a held or idle applier reads <state>.holds (default 200 ms). */
  holdPollMs?: number;
  /**
   * Between batches, look again this often (default 10 s) for code planted on the tables carve
   * writes (src/sync/target-guard.ts), and stop with TARGET_FOREIGN_OBJECT when some appeared.
   */
  guardIntervalMs?: number;
  /** Include per-transaction apply latencies in `batch-applied` events (benchmarks). */
  recordLatency?: boolean;
  /**
   * Move target sequences forward to the monolith's values this often while streaming (default
   * 10 000 ms; 0 = only when streaming ends). They are always moved once when sync stops cleanly.
   */
  sequenceIntervalMs?: number;
  applicationName?: string;
  /** At start, how long to wait for another holder of the migration lock to go away (default 5000 ms). */
  lockWaitMs?: number;
  signal?: AbortSignal;
  /**
   * More destinations beside the service databases' appliers (a broker publisher …), created for
   * every session. The slot is acknowledged with the minimum durable position over all sinks;
   * holds and restart rules apply to each (see sink.ts).
   */
  sinks?: SinkFactory[];
  /**
   * Apply into the service databases in this process (default true). false: only the sinks of
   * `sinks` receive the stream (`carve sync --sink kafka-only`: `carve apply` processes elsewhere
   * apply from the broker).
   */
  appliers?: boolean;
  /**
   * For carve copy only: stream into targets whose rows are loaded but whose copy is not finished
   * (before its post-load step), under the migration lock the caller already holds.
   */
  duringCopy?: boolean;
}

export const DEFAULT_BATCH: BatchSettings = {
  maxChanges: 50_000,
  maxBytes: 64 * 1024 * 1024,
  maxDelayMs: 500,
  pieceChanges: 10_000,
  pieceBytes: 16 * 1024 * 1024,
  queueBytes: 8 * 1024 * 1024,
};
