import { INVALID_LSN, type Lsn } from '../pg/lsn.js';
import { pgTimestampToIso, pgTimestampToUnixMillis, type PgTimestamp } from '../pg/replication/pg-time.js';
import type { TableRoute } from '../routing/model.js';
import { ApplyQueue } from './apply-queue.js';
import { HoldBook } from './hold-book.js';
import type { Sink, SinkContext, SinkItem, SinkTotals } from './sink.js';
import type { HoldRow } from './hold-row.js';

/** A sink's durable position as read from its destination at session start. */
export interface DurablePosition {
  lsn: Lsn;
  /** Source commit time (ISO) of the last transaction in it, null when unknown. */
  commitTime: string | null;
}

/**
 * The delivery loop every sink shares, around a few I/O methods a destination implements
 * (connect, beginBatch, deliver, commitBatch, writePosition, disconnect):
 *
 * - many source transactions per destination batch, committed at a source commit boundary after
 *   `maxChanges`, `maxBytes`, `maxDelayMs`, or as soon as the queue is empty and the stream has
 *   nothing more (low latency when idle, big batches when catching up);
 * - a huge source transaction is delivered as it arrives, inside one open batch, committed at its
 *   source commit;
 * - holds are decided at source commit boundaries (HoldBook): reaching one makes the position
 *   durable first; table holds come from `readTableHolds()` when the destination has them;
 * - positions that moved without data (advances) are written at most every `positionFlushMs`.
 *
 * The service-database applier (TargetApplier) is one subclass; a publisher is another.
 */
export abstract class BatchingSink implements Sink {
  abstract readonly name: string;
  abstract readonly kind: string;
  readonly queue: ApplyQueue;
  readonly holds = new HoldBook();
  durable: Lsn = INVALID_LSN;
  durableCommitTime: string | null = null;
  position: Lsn = INVALID_LSN;
  skipBelow: Lsn = INVALID_LSN;
  lastDataCommit: Lsn = INVALID_LSN;
  readonly unapplied: PgTimestamp[] = [];
  readonly totals: SinkTotals = { changes: 0, transactions: 0, batches: 0, refetched: 0, refetchMissing: 0 };

  /** A destination batch (transaction) is open. */
  protected inBatch = false;
  /** Inside a source transaction (between its begin and commit). */
  protected inSource: { commitLsn: Lsn; commitTime: PgTimestamp } | null = null;
  private batch = {
    changes: 0,
    bytes: 0,
    transactions: 0,
    startedAt: 0,
    commitTime: null as PgTimestamp | null,
  };
  private positionWrittenAt = 0;
  private lastHoldPoll = 0;
  private stopping = false;
  private wakeNap: (() => void) | undefined;

  constructor(protected readonly context: SinkContext) {
    this.queue = new ApplyQueue(context.queueBudget);
  }

  abstract accepts(route: TableRoute): boolean;

  /** Connect to the destination and read its durable position. */
  protected abstract connect(): Promise<DurablePosition>;
  /** Open a destination batch; may refresh table holds (`this.holds.replaceTableHolds`). */
  protected abstract beginBatch(): Promise<void>;
  /**
   * Every item of an open batch except `advance`: begin, changes, truncate, add-column,
   * add-partitions, commit.
   * Return a promise only when there is I/O to wait for (the loop skips an await otherwise).
   */
  protected abstract deliver(item: SinkItem): Promise<void> | void;
  /** Make the open batch durable, recording `position` (and the commit time, when not null) with it. */
  protected abstract commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void>;
  /** Record a position that moved without data, outside a batch. */
  protected abstract writePosition(position: Lsn): Promise<void>;
  protected abstract disconnect(): Promise<void>;

  /** Holds requested by other processes, when the destination stores them (the applier's holds table). */
  protected async readTableHolds(): Promise<readonly HoldRow[] | undefined> {
    return undefined;
  }

  /** Reached a hold at `lsn`: make `position` durable (when `moved`) and record a table hold as reached. */
  protected async recordHoldReached(_lsn: Lsn, moved: boolean, _fromTable: boolean): Promise<void> {
    if (moved) await this.writePosition(this.position);
  }

  /** A table hold cannot be honoured: record it where the requester looks. */
  protected async recordHoldFailed(_lsn: Lsn, _error: string): Promise<void> {}

  async open(): Promise<void> {
    const { lsn, commitTime } = await this.connect();
    // Stopped while connecting: let go of the connection (an applier's holds its replication origin).
    if (this.stopping) await this.disconnect();
    this.durable = lsn;
    this.position = lsn;
    this.skipBelow = lsn;
    this.durableCommitTime = commitTime;
    // Unknown after a restart: assume the last change was just before the durable position.
    this.lastDataCommit = lsn > 0n ? lsn - 1n : INVALID_LSN;
    const rows = await this.readTableHolds();
    if (rows) this.holds.replaceTableHolds(rows);
  }

  /** Deliver until stop() or an error (which ends the session: the engine restarts from durable positions). */
  async run(): Promise<void> {
    while (!this.stopping) {
      if (!this.inSource) {
        if (await this.atBoundary()) continue;
      }
      const item = this.queue.peek();
      if (item === undefined) {
        if (this.inBatch && !this.inSource) {
          // Nothing queued: commit now, unless the stream holds more that is about to be handed
          // over (catching up) — then keep the batch open a little for it.
          const open = Date.now() - this.batch.startedAt;
          if (this.context.moreComing() && open < this.context.batch.maxDelayMs) {
            await this.queue.waitForItem(Math.min(20, this.context.batch.maxDelayMs - open));
            continue;
          }
          await this.commit();
        } else {
          await this.flushPositionIfDue(false);
        }
        await this.queue.waitForItem(this.context.holdPollMs);
        continue;
      }
      if (!this.inBatch && item.kind !== 'advance') {
        // Opening the batch may re-read the holds: decide on them again before taking the item.
        await this.beginBatch();
        this.inBatch = true;
        this.lastHoldPoll = Date.now();
        this.batch = { changes: 0, bytes: 0, transactions: 0, startedAt: Date.now(), commitTime: null };
        continue;
      }
      this.queue.shift();
      const io = this.take(item);
      if (io) await io;
      if (!this.inSource && this.inBatch && this.batchFull()) await this.commit();
    }
  }

  /** Stop after the current step; an open batch is abandoned (replayed by the next session). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.clear();
    await this.disconnect();
  }

  nudge(): void {
    this.queue.nudge();
    const wake = this.wakeNap;
    this.wakeNap = undefined;
    wake?.();
  }

  expeditePosition(): void {
    this.positionWrittenAt = 0;
    this.queue.nudge();
  }

  private take(item: SinkItem): Promise<void> | void {
    switch (item.kind) {
      case 'begin':
        this.inSource = { commitLsn: item.commitLsn, commitTime: item.commitTime };
        this.lastDataCommit = item.commitLsn;
        return this.deliver(item);
      case 'commit':
        this.inSource = null;
        this.position = item.endLsn;
        this.batch.transactions++;
        this.batch.commitTime = item.commitTime;
        return this.deliver(item);
      case 'advance':
        if (item.upTo > this.position) this.position = item.upTo;
        return;
      case 'truncate':
        this.batch.changes++;
        return this.deliver(item);
      case 'add-column':
      case 'alter-column':
      case 'add-partitions':
        return this.deliver(item);
      default:
        this.batch.changes++;
        this.batch.bytes += item.bytes;
        return this.deliver(item);
    }
  }

  /** At a source commit boundary: apply holds. Returns true when the loop should look again. */
  private async atBoundary(): Promise<boolean> {
    if (!this.inBatch && Date.now() - this.lastHoldPoll >= this.context.holdPollMs) {
      this.lastHoldPoll = Date.now();
      const rows = await this.readTableHolds();
      if (rows) this.holds.replaceTableHolds(rows);
    }
    for (const released of this.holds.takeReleased()) this.context.onHold(this, released, 'released');
    const next = this.queue.peek();
    const decision = this.holds.decide(next, this.position, this.lastDataCommit);
    if (decision.kind === 'none') return false;
    if (this.inBatch) await this.commit();
    if (decision.kind === 'failed') {
      if (decision.fromTable) await this.recordHoldFailed(decision.lsn, decision.error);
      this.context.onHold(this, decision.lsn, 'failed', decision.error);
      return true;
    }
    if (decision.kind === 'reach') {
      // Every source transaction before the hold is delivered here and none after it: the position
      // may say so, even when it got there by a transaction for other sinks or a keepalive.
      if (this.position < decision.lsn) this.position = decision.lsn;
      await this.recordHoldReached(decision.lsn, this.position > this.durable, decision.fromTable);
      this.markDurable(this.position, null, 0, 0);
      this.context.onHold(this, decision.lsn, 'reached');
      return true;
    }
    // Held: wait for the release (in-process: nudge; from the table: the next poll).
    await this.flushPositionIfDue(true);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.context.holdPollMs);
      this.wakeNap = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeNap = undefined;
    return true;
  }

  private batchFull(): boolean {
    const b = this.context.batch;
    return (
      this.batch.changes >= b.maxChanges ||
      this.batch.bytes >= b.maxBytes ||
      Date.now() - this.batch.startedAt >= b.maxDelayMs
    );
  }

  private async commit(): Promise<void> {
    const commitTime = this.batch.commitTime;
    await this.commitBatch(this.position, commitTime);
    this.inBatch = false;
    this.totals.batches++;
    this.markDurable(this.position, commitTime, this.batch.transactions, this.batch.changes);
  }

  private markDurable(
    position: Lsn,
    commitTime: PgTimestamp | null,
    transactions: number,
    changes: number,
  ): void {
    this.durable = position;
    this.positionWrittenAt = Date.now();
    if (commitTime !== null) this.durableCommitTime = pgTimestampToIso(commitTime);
    this.totals.changes += changes;
    this.totals.transactions += transactions;
    let latenciesMs: number[] | undefined;
    const now = Date.now();
    if (this.context.recordLatency) latenciesMs = [];
    // One splice per batch: shift() per transaction moves the whole array each time once it is
    // large (a stream far ahead of this sink), which cost a sixth of Node's time into nine databases.
    const applied = Math.min(transactions, this.unapplied.length);
    if (latenciesMs)
      for (let i = 0; i < applied; i++) latenciesMs.push(now - pgTimestampToUnixMillis(this.unapplied[i]!));
    if (applied > 0) this.unapplied.splice(0, applied);
    this.context.onCommitted(this, { position, commitTime, transactions, changes, latenciesMs });
  }

  /** Write a position that moved without data (advances), at most every positionFlushMs unless forced. */
  private async flushPositionIfDue(force: boolean): Promise<void> {
    if (this.inBatch || this.inSource || this.position <= this.durable) return;
    if (!force && Date.now() - this.positionWrittenAt < this.context.positionFlushMs) return;
    await this.writePosition(this.position);
    this.markDurable(this.position, null, 0, 0);
  }
}
