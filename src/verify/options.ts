import type { Lsn } from '../pg/lsn.js';
import type { Routing } from '../routing/model.js';
import type { SinkFactory } from '../sync/sink.js';
import type { VerifyEvent } from './events.js';

/**
 * The hold API of an in-process SyncEngine (src/sync/index.ts): holdAt(fn) stops every target,
 * calls fn for the point, and resolves once every target has applied every source transaction with
 * commit LSN < point and none at or after it; release() lets it continue.
 */
export interface HoldProvider {
  holdAt(point: Lsn | (() => Promise<Lsn>)): Promise<Lsn>;
  release(): void;
}

export interface VerifyOptions {
  routing: Routing;
  /** Restrict to these tables: target `schema.name` or `name`, source `schema.name`, or route id. */
  tables?: string[];
  /** Segments compared at once (each reads both sides concurrently). Default 4. */
  jobs?: number;
  /** Continue the last interrupted run: segments it found clean are not read again. */
  resume?: boolean;
  /**
   * How targets are aligned with the monolith's snapshot (see docs/verify.md):
   * - auto: `sync` if given, else `<state>.holds` rows when a `carve sync` holds the migration lock,
   *   else the targets' recorded positions, accepted only when nothing they hold changed since.
   * - assume-static: nothing writes to the monolith's moving tables or to the targets (tests,
   *   frozen systems); targets are read as they are.
   */
  alignment?: 'auto' | 'assume-static';
  /** A running in-process sync engine to hold at the verify point. */
  sync?: HoldProvider;
  /**
   * When no sync runs and the targets lack monolith changes: run a sync engine in this process up to
   * the verify point instead of failing with VERIFY_TARGETS_BEHIND (it applies those changes).
   */
  catchUp?: boolean;
  /**
   * Sinks besides the service databases for that catch-up engine: the plan's event publishers
   * (the CLI passes `eventSinks(routing)`). Without them the catch-up would acknowledge the slot
   * past changes the publishers never saw, and they would refuse to resume (EVENTS_BEHIND_SLOT).
   */
  catchUpSinks?: SinkFactory[];
  /** How long to wait for a sync to reach the hold point (default 300 s). */
  holdTimeoutMs?: number;
  /**
   * Sequences behind the maximum: strict fails the verify, advisory only reports them.
   * auto (default) = advisory while a live sync is held (it moves sequences only every few seconds,
   * so inserts since its last pass show as behind), strict otherwise (a sync that stopped cleanly
   * moved every sequence to the monolith's value).
   */
  sequences?: 'auto' | 'strict' | 'advisory';
  /** Keep at most this many mismatched rows per table in the result (all are counted). Default 100 000. */
  maxKeysPerTable?: number;
  /**
   * Write SQL that brings the target rows back to the monolith's values (insert missing, delete
   * extra, update different, move sequences) to this file, for psql.
   */
  repairSqlFile?: string;
  /** Rows per bucket (the unit a difference is first narrowed to). Default 1000. */
  bucketRows?: number;
  /** Rows per segment (the unit of resumption) for integer keys. Default 1 000 000. */
  segmentRows?: number;
  onEvent?: (event: VerifyEvent) => void;
  signal?: AbortSignal;
  applicationName?: string;
}
