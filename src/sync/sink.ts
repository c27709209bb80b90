import type { Lsn } from '../pg/lsn.js';
import type { PgTimestamp } from '../pg/replication/pg-time.js';
import type { Routing, TableRoute } from '../routing/model.js';
import type { ApplyItem, ApplyQueue } from './apply-queue.js';
import type { HoldBook } from './hold-book.js';
import type { BatchSettings } from './options.js';
import type { QueueBudget } from './queue-budget.js';

/**
 * A destination of the stream: the applier of a service database is one; a broker publisher, a
 * column-store writer or a reverse-stream applier are others. The engine treats them all alike:
 *
 * - **Order**: a sink receives its items in source commit order (SinkItem): `begin` (xid, commit
 *   LSN and time, replication origin), the routed changes of the routes it accepts, `commit`; and
 *   `advance` for transactions that had nothing for it.
 * - **Positions**: `open()` reads the sink's durable position (a resume-from LSN: every source
 *   transaction committing before it is in the sink, none at or after it). The stream starts at the
 *   minimum over all sinks; each sink skips what it already has (`skipBelow`). The slot is
 *   acknowledged with the minimum `durable` over all sinks, so a sink that is behind holds the slot
 *   and never loses data; it moves `durable` only once its destination has the data.
 * - **Backpressure**: the reader pushes into each sink's bounded `queue` and waits while any is full.
 * - **Holds**: the engine's holds go into each sink's `holds`; a sink stops at a source commit
 *   boundary before the hold, makes its position durable and reports `onHold(…, 'reached')`.
 * - **Failures**: an error of open() or run() ends the session as a SinkFailure naming the sink;
 *   transient ones start a new session from the durable positions (the restart rule).
 *
 * Most sinks extend BatchingSink (batching-sink.ts), which implements all of that around a few
 * I/O methods; the Sink interface is what the session, the dispatcher and the engine rely on.
 */
export interface Sink {
  /** Unique within an engine: a service database's name for its applier. Events, status and errors use it. */
  readonly name: string;
  /** 'applier' for a service database; another word for other destinations ('kafka', 'memory' …). */
  readonly kind: string;
  /** Whether the changes of this route go to the sink (asked once per route and session). */
  accepts(route: TableRoute): boolean;
  /** Connect and read the durable position; afterwards `durable` and `skipBelow` hold it. */
  open(): Promise<void>;
  /** Deliver queued items until stop() or an error. */
  run(): Promise<void>;
  /** Stop after the current step; anything not durable is delivered again by the next session. */
  stop(): Promise<void>;

  /** Transactions committing before this were delivered in an earlier session: the reader skips them. */
  readonly skipBelow: Lsn;
  /** Resume-from position that is durable in the destination. */
  readonly durable: Lsn;
  /** Source commit time (ISO) of the last durable transaction; null before the first. */
  readonly durableCommitTime: string | null;
  /** Processed position (moves with commits and advances; may not be durable yet). */
  readonly position: Lsn;
  /** Commit LSN of the last source transaction handed to the sink with changes. */
  readonly lastDataCommit: Lsn;
  /** Bounded: the reader stops reading the stream while it is full. */
  readonly queue: ApplyQueue;
  /** Holds this sink honours (the engine adds and removes its in-process hold here). */
  readonly holds: HoldBook;
  /** Source commit times of transactions handed over and not yet durable (for lag). */
  readonly unapplied: PgTimestamp[];
  readonly totals: SinkTotals;
  /** Wake the loop (a hold was added or released). */
  nudge(): void;
  /** Write the position at the next idle moment (someone waits for it). */
  expeditePosition(): void;
}

/** What a sink receives, in source commit order (see ApplyItem). Items may be shared between sinks: read-only. */
export type SinkItem = ApplyItem;

export interface SinkTotals {
  changes: number;
  transactions: number;
  batches: number;
  /** Rows re-read from the monolith (appliers, after an unchanged-TOAST patch found no row). */
  refetched: number;
  refetchMissing: number;
}

/** A batch made durable by a sink (the engine emits it as `batch-applied` and acknowledges). */
export interface CommittedBatch {
  position: Lsn;
  commitTime: PgTimestamp | null;
  transactions: number;
  changes: number;
  /** now − source commit time of each transaction, when recordLatency is on. */
  latenciesMs?: number[];
}

export type HoldOutcome = 'reached' | 'failed' | 'released';

/** What the engine gives a sink when a session creates it. */
export interface SinkContext {
  routing: Routing;
  batch: BatchSettings;
  /**
   * The bound shared by the queues of every sink of the session (`batch.queueBytes` in all):
   * a sink's queue is `new ApplyQueue(context.queueBudget)`.
   */
  queueBudget: QueueBudget;
  applicationName: string;
  holdPollMs: number;
  positionFlushMs: number;
  recordLatency: boolean;
  /** The stream holds messages not yet handed over: a batch may stay open a little for them. */
  moreComing(): boolean;
  /** The sink made a position durable. */
  onCommitted(sink: Sink, info: CommittedBatch): void;
  onHold(sink: Sink, lsn: Lsn, outcome: HoldOutcome, error?: string): void;
}

/**
 * Creates a sink for one session (called again for every new session after a reconnect). Passed
 * in SyncOptions.sinks; the engine adds them to the applier of every service database.
 */
export type SinkFactory = (context: SinkContext) => Sink;

/** An error of one sink, so the engine knows which one failed. */
export class SinkFailure extends Error {
  constructor(
    readonly sink: string,
    readonly kind: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'SinkFailure';
  }
}
