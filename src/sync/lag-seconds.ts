import type { Lsn } from '../pg/lsn.js';

/**
 * Lag in seconds, as carve defines it everywhere (lag events, `carve sync`, `carve status`,
 * docs/sync.md): how long ago the monolith committed the oldest transaction a target has not
 * applied yet — 0 when the target has applied everything the monolith had committed.
 *
 * WAL bytes are no measure of it: an idle monolith writes WAL too (checkpoints, other tables,
 * heartbeats), so a caught-up target is always some bytes "behind", and a target whose changes
 * are still being decoded shows none in flight.
 */
export interface LagReading {
  /** null: unknown (nothing says when the missing transactions committed). */
  seconds: number | null;
  /**
   * false: `seconds` is an upper bound. The stream has not yet read the monolith's WAL up to its
   * end, so the oldest missing transaction is not known yet; it committed after the newest
   * transaction the stream did read, which gives the bound.
   */
  exact: boolean;
}

export interface LiveLagInput {
  nowMs: number;
  /** Source commit time (ms) of the oldest transaction handed to this target and not yet durable. */
  oldestUnappliedMs: number | null;
  /** What this target has processed of the stream: commits and keepalives (durable or not). */
  processedLsn: Lsn;
  /**
   * The monolith's WAL position as read a moment ago (the previous lag tick): everything
   * committed before then has its commit record before it. null when not read yet.
   */
  serverLsn: Lsn | null;
  /** Source commit time (ms) of the newest transaction the stream handed to any target, or applied. */
  newestSeenCommitMs: number | null;
}

/**
 * pg_current_wal_lsn() may point past the end of the last record (a page header, alignment),
 * which the stream never reports as received: this much short of it counts as reaching it. No
 * transaction fits into it (a commit record alone takes more after alignment than is left).
 */
export const WAL_END_SLACK_BYTES = 48n;

/** Lag of one target of a running sync engine. */
export function liveLag(input: LiveLagInput): LagReading {
  if (input.oldestUnappliedMs !== null) {
    return { seconds: Math.max(0, (input.nowMs - input.oldestUnappliedMs) / 1000), exact: true };
  }
  if (input.serverLsn !== null && input.processedLsn + WAL_END_SLACK_BYTES >= input.serverLsn) {
    return { seconds: 0, exact: true };
  }
  if (input.newestSeenCommitMs === null) return { seconds: null, exact: false };
  return { seconds: Math.max(0, (input.nowMs - input.newestSeenCommitMs) / 1000), exact: false };
}
