import type { TableRef } from '../catalog/model.js';

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
  /**
   * A partitioned table whose leaf partitions differ between the monolith and the target (a
   * partition attached or detached on the monolith, which the stream cannot follow). Absent when
   * they are the same. The rows are compared through the partitioned table all the same.
   */
  partitions?: PartitionDifference;
}

/** Leaf partitions that one side has and the other does not. */
export interface PartitionDifference {
  onlyInTarget: TableRef[];
  onlyInMonolith: TableRef[];
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
  /** When behind: what to do about it, and the statement (run in `database`) that moves it. */
  hint: string | null;
  repairSql: string | null;
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
