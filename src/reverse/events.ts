import type { SyncErrorInfo } from '../sync/events.js';

/** Progress of one reverse stream (a cut-over service's database → the monolith). LSNs are the service database's. */
export interface ReverseLag {
  service: string;
  database: string;
  /** Durable in the monolith: every service transaction committing before it is applied there. */
  appliedLsn: string;
  /** The service database's WAL position at the last reading (null when it could not be read). */
  serverLsn: string | null;
  /** serverLsn − appliedLsn, bytes (≥ 0). */
  lagBytes: number;
  /** Service commit time (ISO) of the last applied transaction, null before the first. */
  commitTime: string | null;
  totalChanges: number;
  totalTransactions: number;
}

export type ReverseEvent =
  /** A registered reverse stream started (or restarted after a failure) in this process. */
  | { type: 'reverse-started'; service: string; database: string; slot: string; resumeLsn: string }
  | {
      type: 'reverse-applied';
      service: string;
      database: string;
      appliedLsn: string;
      transactions: number;
      changes: number;
    }
  /** Every second, per running reverse stream. */
  | { type: 'reverse-lag'; streams: ReverseLag[] }
  | { type: 'reverse-reconnecting'; service: string; attempt: number; delayMs: number; error: SyncErrorInfo }
  /** A stream stopped for good (its registration was removed, or it failed with a permanent error). */
  | {
      type: 'reverse-stopped';
      service: string;
      reason: 'stopped' | 'unregistered' | 'failed';
      error?: SyncErrorInfo;
    };

export interface ReverseResult {
  /** Per stream that ran: where it stopped. */
  streams: { service: string; appliedLsn: string }[];
}
