import { withSession } from '../pg/connect.js';
import type { Lsn } from '../pg/lsn.js';
import type { SlotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import { WAL_END_SLACK_BYTES, type LagReading } from './lag-seconds.js';
import { findOldestUnapplied } from './oldest-unapplied.js';
import { sourceSessionUrl } from './source-session.js';

/** What one target records, as read by readSyncStatus. */
export interface RecordedTarget {
  database: string;
  appliedLsn: Lsn;
  /** now − source commit time of the last applied transaction (target clock), null if none. */
  commitAgeSeconds: number | null;
  /** What a running sync last measured (lag-recorder.ts). */
  recorded: { seconds: number | null; exact: boolean; ageSeconds: number } | null;
}

/** A running sync's recorded lag older than this is not trusted (it records every 2 s). */
const RECORDED_FRESH_SECONDS = 15;
/** Reading the slot for `carve status`: at most this many messages, this long. */
const PEEK_LIMITS = { maxChanges: 20_000, timeoutMs: 5000 };

/**
 * Lag seconds of each target as `carve status` reads them from the databases, with the meaning of
 * lag-seconds.ts. A target at the monolith's WAL position lags 0. While a sync streams, it is what
 * that sync measured and recorded. Without one, the migration's slot says when the oldest missing
 * transaction committed (read, not consumed). Where neither can tell, the bound is the age of the
 * last applied commit (everything missing committed after it), marked inexact; with no slot, unknown.
 */
export async function statusLag(
  routing: Routing,
  slot: SlotInfo,
  serverLsn: Lsn,
  targets: readonly RecordedTarget[],
): Promise<Map<string, LagReading>> {
  const result = new Map<string, LagReading>();
  const bound = (t: RecordedTarget): LagReading => ({
    seconds: t.commitAgeSeconds === null ? null : Math.max(0, t.commitAgeSeconds),
    exact: false,
  });
  const reached = (t: RecordedTarget) => t.appliedLsn + WAL_END_SLACK_BYTES >= serverLsn;
  const behind = targets.filter((t) => !reached(t));
  for (const t of targets) if (reached(t)) result.set(t.database, { seconds: 0, exact: true });
  if (!behind.length) return result;
  if (!slot.exists || slot.walStatus === 'lost') {
    for (const t of behind) result.set(t.database, { seconds: null, exact: false });
    return result;
  }
  if (slot.active) {
    for (const t of behind) {
      const r = t.recorded;
      result.set(t.database, r && r.ageSeconds <= RECORDED_FRESH_SECONDS ? r : bound(t));
    }
    return result;
  }
  const windows = behind.map((t) => {
    const routes = routing.routes.filter((r) => r.database === t.database);
    const tables = new Set<string>();
    for (const r of routes) {
      tables.add(`${r.source.schema}.${r.source.name}`);
      for (const p of r.sourcePartitions) tables.add(`${p.schema}.${p.name}`);
    }
    return { database: t.database, from: t.appliedLsn, tables };
  });
  const peek = await withSession(
    sourceSessionUrl(routing.sourceUrl),
    (client) =>
      findOldestUnapplied(
        client,
        routing.names.slot,
        routing.names.publication,
        serverLsn,
        windows,
        PEEK_LIMITS,
      ),
    { applicationName: 'carve status', connectTimeoutMs: 5000 },
  ).catch(() => null); // in use by a sync just starting, too slow: fall back to the bound
  const now = Date.now();
  for (const t of behind) {
    const found = peek?.found.get(t.database);
    if (found !== undefined)
      result.set(t.database, { seconds: Math.max(0, (now - found) / 1000), exact: true });
    else if (peek?.complete) result.set(t.database, { seconds: 0, exact: true });
    else {
      // Both bound it: whatever is missing committed after the last applied and the last read.
      const fromApplied = bound(t).seconds;
      const fromRead =
        peek?.lastReadCommitMs == null ? null : Math.max(0, (now - peek.lastReadCommitMs) / 1000);
      const seconds =
        fromApplied === null ? fromRead : fromRead === null ? fromApplied : Math.min(fromApplied, fromRead);
      result.set(t.database, { seconds, exact: false });
    }
  }
  return result;
}
