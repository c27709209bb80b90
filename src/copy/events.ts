import type { TableRef } from '../catalog/model.js';

/** Per-route totals, as planned. */
export interface RouteCopyPlan {
  routeId: string;
  database: string;
  target: TableRef;
  chunks: number;
  chunksDone: number;
  estimatedBytes: number;
  estimatedRows: number;
}

export interface RouteCopySummary {
  routeId: string;
  database: string;
  target: TableRef;
  rows: number;
  bytes: number;
  seconds: number;
  chunks: number;
  failedChunks: number;
}

export interface FailedChunk {
  routeId: string;
  chunkNo: number;
  relation: TableRef;
  method: string;
  lower: string | null;
  upper: string | null;
  sqlstate: string | undefined;
  message: string;
}

/** What the copy engine reports while it works. The CLI renders these; nothing else prints. */
export type CopyEvent =
  | {
      type: 'copy-started';
      mode: 'fresh' | 'resume';
      slot: string;
      consistentLsn: string;
      snapshot: string;
      jobs: number;
      routes: RouteCopyPlan[];
    }
  | { type: 'route-restarted'; routeId: string; reason: string }
  /** A partition created on the monolith after provision, created in the target before the load. */
  | { type: 'partition-added'; database: string; table: string }
  | {
      type: 'chunk-started';
      routeIds: string[];
      relation: TableRef;
      lower: string | null;
      upper: string | null;
      worker: number;
    }
  | { type: 'chunk-progress'; routeIds: string[]; bytes: number }
  | { type: 'chunk-done'; routeId: string; chunkNo: number; rows: number; bytes: number; ms: number }
  /** The chunk's rows are published as snapshot reads (plan `events.snapshot`), in one Kafka transaction. */
  | { type: 'chunk-published'; routeId: string; chunkNo: number; events: number }
  | ({ type: 'chunk-failed'; attempt: number; willRetry: boolean } & FailedChunk)
  /** A resumed copy streams databases loaded under two snapshots up to the later one (later-snapshot.ts). */
  | { type: 'catch-up-started'; databases: string[]; lsn: string }
  | { type: 'catch-up-done'; lsn: string; ms: number; changes: number }
  | { type: 'post-load-started'; database: string }
  | {
      type: 'post-load-done';
      database: string;
      ms: number;
      indexes: number;
      foreignKeys: number;
      sequences: number;
    }
  | {
      type: 'copy-finished';
      complete: boolean;
      seconds: number;
      rows: number;
      bytes: number;
      /** Snapshot reads published by this run (plan `events.snapshot`). */
      snapshotEvents?: number;
    };

export interface CopyResult {
  complete: boolean;
  mode: 'fresh' | 'resume' | 'already-complete';
  slot: string;
  consistentLsn: string;
  seconds: number;
  routes: RouteCopySummary[];
  failed: FailedChunk[];
  /** Snapshot reads published by this run (plan `events.snapshot`). */
  snapshotEvents?: number;
}
