import type { TableRef } from '../catalog/model.js';
import type { Lsn } from '../pg/lsn.js';
import type { Routing } from '../routing/model.js';

/**
 * The hold API of an in-process SyncEngine (src/sync/sync-engine.ts): holdAt(fn) stops every target,
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
  /** How long to wait for a sync to reach the hold point (default 300 s). */
  holdTimeoutMs?: number;
  /**
   * Sequences behind the maximum: strict fails the verify, advisory only reports them.
   * auto (default) = advisory while a live sync is held (it does not move sequences; cutover does),
   * strict otherwise.
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

export type AlignmentMethod = 'hold-api' | 'hold-table' | 'catch-up' | 'positions' | 'assumed';

export interface ColumnDifference {
  /** Target column name. */
  column: string;
  /** Source column name, when renamed. */
  sourceColumn?: string;
  source: string | null;
  target: string | null;
}

export interface MismatchedRow {
  kind: 'missing' | 'extra' | 'different';
  /** Key values as text, by target column name. */
  key: Record<string, string>;
  /** For `different`: the columns whose values differ. */
  columns?: ColumnDifference[];
}

export interface TableVerifyResult {
  routeId: string;
  kind: 'owned' | 'projection';
  database: string;
  source: TableRef;
  target: TableRef;
  status: 'ok' | 'differs';
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  different: number;
  /** At most maxKeysPerTable; `truncated` says how many more there were. */
  mismatches: MismatchedRow[];
  truncated: number;
  segments: number;
  /** Segments taken from an interrupted run (found clean there). */
  resumedSegments: number;
  /** hash buckets (any key type) or key ranges (a single integer key). */
  method: 'ranges' | 'hash';
  seconds: number;
}

export interface OrphanRow {
  /** The referencing row's key, by target column name. */
  key: Record<string, string>;
  /** The referencing column values that have no parent. */
  values: Record<string, string>;
  /** The monolith has the same row without a parent too (the orphan is older than the migration). */
  preexisting: boolean;
}

export interface ForeignKeyVerifyResult {
  name: string;
  from: { routeId: string; database: string; table: TableRef; columns: string[] };
  to: { routeId: string; database: string; table: TableRef; columns: string[] };
  /** ok, orphans (new ones: a failure), or preexisting-orphans (all already in the monolith). */
  status: 'ok' | 'orphans' | 'preexisting-orphans';
  /** Distinct referencing values checked. */
  checkedValues: number;
  orphans: OrphanRow[];
  truncated: number;
  seconds: number;
}

export interface SequenceVerifyResult {
  database: string;
  table: TableRef;
  column: string;
  sequence: string;
  /** Largest value in the column (null: empty table). */
  max: string | null;
  /** The value nextval() would return. */
  next: string;
  status: 'ok' | 'behind';
  /** Whether `behind` fails this verify (see VerifyOptions.sequences). */
  failing: boolean;
}

export interface VerifyResult {
  ok: boolean;
  runId: string;
  /** The monolith position both sides were read at. */
  lsn: string;
  alignment: AlignmentMethod;
  seconds: number;
  tables: TableVerifyResult[];
  foreignKeys: ForeignKeyVerifyResult[];
  sequences: SequenceVerifyResult[];
  /** Rows read, both sides (for rows/s). */
  rowsRead: number;
  /** Wall milliseconds of each phase. */
  timings: { alignMs: number; rowsMs: number; foreignKeysMs: number; sequencesMs: number };
}

export type VerifyEvent =
  | {
      type: 'verify-started';
      runId: string;
      lsn: string;
      alignment: AlignmentMethod;
      routes: number;
      resumed: boolean;
    }
  | { type: 'aligned'; lsn: string; alignment: AlignmentMethod; ms: number }
  | {
      type: 'segment-done';
      routeId: string;
      segment: number;
      segments: number;
      status: 'ok' | 'differs';
      rows: number;
    }
  | { type: 'route-done'; result: TableVerifyResult }
  | { type: 'foreign-key-done'; result: ForeignKeyVerifyResult }
  | { type: 'sequences-done'; database: string; results: SequenceVerifyResult[] }
  | { type: 'verify-finished'; ok: boolean; seconds: number };
