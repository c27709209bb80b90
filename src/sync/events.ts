import type { CarriedSequence } from './sequence-carrier.js';

/** Per-sink progress, as in `lag` events and readSyncStatus(). LSNs are PostgreSQL text (`16/B374D848`). */
export interface TargetLag {
  /** The service database, or the name of another sink (SyncOptions.sinks). */
  database: string;
  /** 'applier' for a service database, the sink's kind otherwise. */
  kind: string;
  /** Durable applied position: every source transaction committing before it is in this database. */
  appliedLsn: string;
  /** Source commit time of the last applied transaction (ISO), null before the first. */
  commitTime: string | null;
  /** Monolith WAL position − appliedLsn (bytes of WAL not yet reflected here; ≥ 0). */
  lagBytes: number;
  /**
   * How long ago the monolith committed the oldest transaction not yet applied here; 0 when
   * everything it had committed is applied; null when unknown (see lag-seconds.ts, docs/sync.md).
   */
  lagSeconds: number | null;
  /** false: lagSeconds is an upper bound (the stream has not read the monolith's WAL to its end yet). */
  lagExact: boolean;
  /** Changes applied per second over the last interval. */
  changesPerSecond: number;
  /** Bytes waiting in this target's queue. */
  queuedBytes: number;
  /** Stopped at a hold (verify) or waiting for one to be reached. */
  holdLsn: string | null;
  held: boolean;
  /** Rows re-read from the monolith after an update with unchanged TOAST values found none. */
  refetchedRows: number;
  totalChanges: number;
  totalTransactions: number;
}

export interface SyncErrorInfo {
  code: string;
  message: string;
  transient: boolean;
  database?: string;
  sqlState?: string;
}

export type SyncEvent =
  | {
      type: 'sync-started';
      slot: string;
      publication: string;
      /** Per target: the durable position it resumes from. */
      targets: { database: string; appliedLsn: string }[];
      /** With --until-caught-up: the monolith position to reach. */
      caughtUpTarget: string | null;
    }
  | { type: 'stream-started'; session: number; startLsn: string; resumeLsn: string }
  | { type: 'reconnecting'; attempt: number; delayMs: number; error: SyncErrorInfo }
  | {
      type: 'lag';
      serverLsn: string | null;
      receivedLsn: string;
      acknowledgedLsn: string;
      targets: TargetLag[];
    }
  | {
      type: 'batch-applied';
      database: string;
      appliedLsn: string;
      transactions: number;
      changes: number;
      /** With recordLatency: apply time − source commit time per transaction, ms. */
      latenciesMs?: number[];
    }
  | { type: 'column-added'; database: string; table: string; column: string; columnType: string }
  /** A partition created or attached on the monolith after provision, created in the target. */
  | { type: 'partition-added'; database: string; table: string }
  | { type: 'hold-reached'; database: string; lsn: string }
  | { type: 'hold-released'; database: string; lsn: string }
  | { type: 'hold-failed'; database: string; lsn: string; error: string }
  | { type: 'caught-up'; lsn: string }
  /**
   * Target sequences moved forward to the monolith's values (periodically while streaming, and a
   * `final` pass when streaming ends cleanly; a final pass is reported even when nothing moved).
   */
  | { type: 'sequences-carried'; final: boolean; moved: CarriedSequence[] }
  | { type: 'sequences-failed'; final: boolean; error: SyncErrorInfo }
  | { type: 'sync-stopped'; reason: 'stopped' | 'caught-up' | 'failed'; error?: SyncErrorInfo };

export interface SyncResult {
  reason: 'stopped' | 'caught-up';
  targets: { database: string; appliedLsn: string }[];
}

/** Recorded in every target when a sync stops on an error, for `carve status`. */
export interface SyncStopError {
  code: string;
  message: string;
  hint: string | null;
  database: string | null;
  at: string;
}
