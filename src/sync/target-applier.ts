import { CarveError } from '../errors.js';
import { atService, type Client, connect } from '../pg/connect.js';
import { formatLsn, INVALID_LSN, type Lsn } from '../pg/lsn.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { pgTimestampToIso, pgTimestampToUnixMillis, type PgTimestamp } from '../pg/replication/pg-time.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { ServiceRoute } from '../routing/model.js';
import { ApplyQueue, type ApplyItem } from './apply-queue.js';
import { RowWriter } from './row-writer.js';
import { PendingChanges } from './pending-changes.js';
import { createPartition } from './create-partition.js';
import { HoldBook } from './hold-book.js';
import type { SyncState } from './state.js';
import type { BatchSettings } from './options.js';

export interface TargetApplierOptions {
  service: ServiceRoute;
  state: SyncState;
  sourceUrl: string;
  /** Durable position read at session start: transactions committing before it are skipped. */
  position: Lsn;
  commitTime: string | null;
  batch: BatchSettings;
  /** Apply without collapsing until this position (after a batch hit a unique violation). */
  strictUntil: Lsn;
  applicationName: string;
  holdPollMs: number;
  positionFlushMs: number;
  recordLatency: boolean;
  onCommitted: (applier: TargetApplier, info: CommittedBatch) => void;
  onHold: (
    applier: TargetApplier,
    lsn: Lsn,
    outcome: 'reached' | 'failed' | 'released',
    error?: string,
  ) => void;
  onAddedColumn: (applier: TargetApplier, table: string, column: string, type: string) => void;
  onAddedPartition: (applier: TargetApplier, table: string) => void;
  /** Whether the stream has received messages not yet handed to the appliers. */
  moreComing: () => boolean;
}

export interface CommittedBatch {
  position: Lsn;
  commitTime: PgTimestamp | null;
  transactions: number;
  changes: number;
  /** now − source commit time of each applied transaction, when recordLatency is on. */
  latenciesMs?: number[];
}

/**
 * Applies one target database's share of the stream, strictly in source commit order, on its own
 * connection: many source transactions per target transaction, each table's rows collapsed into
 * multi-row statements (see PendingChanges), and the position written in the same transaction as
 * the rows. A huge source transaction is applied in pieces inside one open target transaction and
 * committed at its source commit.
 */
export class TargetApplier {
  readonly database: string;
  readonly queue: ApplyQueue;
  readonly holds = new HoldBook();
  /** Durable: every source commit before it is committed here. */
  durable: Lsn;
  durableCommitTime: PgTimestamp | null = null;
  durableCommitTimeText: string | null;
  /** Processed (maybe not yet committed): moves with commits and advances. */
  position: Lsn;
  /** Commit LSN of the last source transaction with changes here (open batch included). */
  lastDataCommit: Lsn;
  /** Source commit times of transactions handed to this applier and not yet durable (for lag). */
  readonly unapplied: PgTimestamp[] = [];
  readonly totals = { changes: 0, transactions: 0, batches: 0, refetched: 0, refetchMissing: 0 };

  private client: Client | undefined;
  private writer: RowWriter | undefined;
  private inTarget = false;
  private inSource: { commitLsn: Lsn; commitTime: PgTimestamp } | null = null;
  private pending: PendingChanges;
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

  constructor(private readonly options: TargetApplierOptions) {
    this.database = options.service.database;
    this.queue = new ApplyQueue(options.batch.queueBytes);
    this.durable = options.position;
    this.position = options.position;
    this.durableCommitTimeText = options.commitTime;
    // Unknown after a restart: assume the last change was just before the durable position.
    this.lastDataCommit = options.position > 0n ? options.position - 1n : INVALID_LSN;
    this.pending = new PendingChanges(options.strictUntil > options.position);
  }

  /** Transactions committing before this were applied in an earlier session: the reader skips them. */
  get skipBelow(): Lsn {
    return this.options.position;
  }

  async connect(): Promise<void> {
    this.client = await connect(atService(this.options.service.url), {
      applicationName: this.options.applicationName,
    });
    try {
      // FK and user triggers off while applying (as PostgreSQL's own apply workers do): tables are
      // applied in batches, not in the monolith's statement order across tables. Every statement
      // joins a batch of keys to a table: index probes (nested loops) are the plan that scales.
      await this.client.query(
        `SET session_replication_role = replica; SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET statement_timeout = 0; SET enable_hashjoin = off; SET enable_mergejoin = off`,
      );
    } catch (error) {
      if (sqlStateOf(error) === SqlState.insufficientPrivilege) {
        throw new CarveError(
          'SYNC_TARGET_PRIVILEGE',
          `carve sync needs a superuser connection to ${this.database}`,
          {
            details: { database: this.database },
            hint: 'Applying with session_replication_role = replica (foreign keys checked at the source) needs superuser on the service databases.',
            cause: error,
          },
        );
      }
      throw error;
    }
    this.writer = new RowWriter(
      this.client,
      this.options.sourceUrl,
      this.options.applicationName,
      this.totals,
    );
    this.holds.replaceTableHolds(await this.options.state.readHolds(this.client));
  }

  /** Apply until stop() or an error (which ends the session: the engine restarts from durable positions). */
  async run(): Promise<void> {
    while (!this.stopping) {
      if (!this.inSource) {
        if (await this.atBoundary()) continue;
      }
      const item = this.queue.peek();
      if (item === undefined) {
        if (this.inTarget && !this.inSource) {
          // Nothing queued: commit now, unless the stream holds more that is about to be handed
          // over (catching up) — then keep the batch open a little for it.
          const open = Date.now() - this.batch.startedAt;
          if (this.options.moreComing() && open < this.options.batch.maxDelayMs) {
            await this.queue.waitForItem(Math.min(20, this.options.batch.maxDelayMs - open));
            continue;
          }
          await this.commitBatch();
        } else {
          await this.flushPositionIfDue(false);
        }
        await this.queue.waitForItem(this.options.holdPollMs);
        continue;
      }
      if (!this.inTarget && isData(item)) {
        // Opening the batch re-reads the holds: decide on them again before taking the item.
        await this.beginBatch();
        continue;
      }
      this.queue.shift();
      await this.apply(item);
      if (!this.inSource && this.inTarget && this.batchFull()) await this.commitBatch();
    }
  }

  /** Stop after the current statement; an open target transaction is rolled back with the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.clear();
    await this.writer?.close();
    await this.client?.end().catch(() => {});
  }

  /** Wake the loop (a hold was added or released). */
  nudge(): void {
    this.queue.nudge();
    const wake = this.wakeNap;
    this.wakeNap = undefined;
    wake?.();
  }

  /** At a source commit boundary: apply holds. Returns true when the loop should look again. */
  private async atBoundary(): Promise<boolean> {
    if (!this.inTarget && Date.now() - this.lastHoldPoll >= this.options.holdPollMs) {
      this.lastHoldPoll = Date.now();
      this.holds.replaceTableHolds(await this.options.state.readHolds(this.client!));
    }
    for (const released of this.holds.takeReleased()) this.options.onHold(this, released, 'released');
    const next = this.queue.peek();
    const decision = this.holds.decide(next, this.position, this.lastDataCommit);
    if (decision.kind === 'none') return false;
    if (this.inTarget) await this.commitBatch();
    if (decision.kind === 'failed') {
      if (decision.fromTable)
        await this.options.state.markHoldFailed(this.client!, decision.lsn, decision.error);
      this.options.onHold(this, decision.lsn, 'failed', decision.error);
      return true;
    }
    if (decision.kind === 'reach') {
      // Every source transaction before the hold is applied here and none after it: the position
      // may say so, even when it got there by a transaction for other targets or a keepalive.
      if (this.position < decision.lsn) this.position = decision.lsn;
      await this.client!.query('BEGIN');
      if (this.position > this.durable)
        await this.options.state.writePosition(this.client!, this.position, null);
      if (decision.fromTable) await this.options.state.markHoldReached(this.client!, decision.lsn);
      await this.client!.query('COMMIT');
      this.markDurable(this.position, null, 0, 0);
      this.options.onHold(this, decision.lsn, 'reached');
      return true;
    }
    // Held: wait for the release (in-process: nudge; from the table: the next poll).
    await this.flushPositionIfDue(true);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.holdPollMs);
      this.wakeNap = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeNap = undefined;
    return true;
  }

  private async beginBatch(): Promise<void> {
    const results = (await this.client!.query(this.options.state.beginApplySql)) as unknown as {
      rows: Record<string, unknown>[];
    }[];
    this.inTarget = true;
    this.lastHoldPoll = Date.now();
    this.holds.replaceTableHolds(this.options.state.holdRows(results[2]!.rows));
    this.batch = { changes: 0, bytes: 0, transactions: 0, startedAt: Date.now(), commitTime: null };
  }

  private batchFull(): boolean {
    const b = this.options.batch;
    return (
      this.batch.changes >= b.maxChanges ||
      this.batch.bytes >= b.maxBytes ||
      Date.now() - this.batch.startedAt >= b.maxDelayMs
    );
  }

  private async apply(item: ApplyItem): Promise<void> {
    switch (item.kind) {
      case 'begin':
        this.inSource = { commitLsn: item.commitLsn, commitTime: item.commitTime };
        this.lastDataCommit = item.commitLsn;
        return;
      case 'commit':
        this.inSource = null;
        this.position = item.endLsn;
        this.batch.transactions++;
        this.batch.commitTime = item.commitTime;
        if (this.pending.strict && item.endLsn >= this.options.strictUntil) await this.leaveStrict();
        return;
      case 'advance':
        if (item.upTo > this.position) this.position = item.upTo;
        return;
      case 'truncate':
        await this.flushAll();
        await this.client!.query(
          `TRUNCATE ${item.tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`,
        );
        this.batch.changes++;
        return;
      case 'add-column':
        await this.flushAll();
        await this.client!.query(
          `ALTER TABLE ${quoteQualified(item.table.schema, item.table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(item.column)} ${item.type}`,
        );
        this.options.onAddedColumn(this, `${item.table.schema}.${item.table.name}`, item.column, item.type);
        return;
      case 'add-partitions':
        await this.flushAll();
        for (const partition of item.partitions) {
          if (await createPartition(this.client!, partition))
            this.options.onAddedPartition(this, `${partition.table.schema}.${partition.table.name}`);
        }
        return;
      case 'move': {
        const earlier = this.pending.drainTable(item.plan);
        if (earlier) await this.writer!.write(earlier);
        await this.writer!.move(item);
        this.countChange(item.bytes);
        return;
      }
      default:
        if (!this.pending.add(item)) {
          const earlier = this.pending.drainTable(item.plan);
          if (earlier) await this.writer!.write(earlier);
          this.pending.add(item);
        }
        this.countChange(item.bytes);
        if (
          this.pending.count >= this.options.batch.pieceChanges ||
          this.pending.bytes >= this.options.batch.pieceBytes
        ) {
          await this.flushAll();
        }
    }
  }

  private countChange(bytes: number): void {
    this.batch.changes++;
    this.batch.bytes += bytes;
  }

  private async flushAll(): Promise<void> {
    for (const flush of this.pending.drain()) await this.writer!.write(flush);
  }

  private async leaveStrict(): Promise<void> {
    await this.flushAll();
    this.pending = new PendingChanges(false);
  }

  private async commitBatch(): Promise<void> {
    await this.flushAll();
    const commitTime = this.batch.commitTime;
    await this.client!.query(this.options.state.writePositionSql, [
      this.options.state.migration,
      formatLsn(this.position),
      commitTime === null ? null : pgTimestampToIso(commitTime),
    ]);
    await this.client!.query('COMMIT');
    this.inTarget = false;
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
    if (commitTime !== null) {
      this.durableCommitTime = commitTime;
      this.durableCommitTimeText = pgTimestampToIso(commitTime);
    }
    this.totals.changes += changes;
    this.totals.transactions += transactions;
    let latenciesMs: number[] | undefined;
    const now = Date.now();
    if (this.options.recordLatency) latenciesMs = [];
    for (let i = 0; i < transactions && this.unapplied.length > 0; i++) {
      const time = this.unapplied.shift()!;
      latenciesMs?.push(now - pgTimestampToUnixMillis(time));
    }
    this.options.onCommitted(this, { position, commitTime, transactions, changes, latenciesMs });
  }

  /** Write a position that moved without data (advances), at most every positionFlushMs unless forced. */
  private async flushPositionIfDue(force: boolean): Promise<void> {
    if (this.inTarget || this.inSource || this.position <= this.durable) return;
    if (!force && Date.now() - this.positionWrittenAt < this.options.positionFlushMs) return;
    await this.options.state.writePosition(this.client!, this.position, null);
    this.markDurable(this.position, null, 0, 0);
  }

  /** Ask for the position to be written at the next idle moment (someone waits for it). */
  expeditePosition(): void {
    this.positionWrittenAt = 0;
    this.queue.nudge();
  }
}

function isData(item: ApplyItem): boolean {
  return item.kind !== 'advance';
}
