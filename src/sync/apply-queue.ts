import type { TableRef } from '../catalog/model.js';
import type { Lsn } from '../pg/lsn.js';
import type { PgTimestamp } from '../pg/replication/pg-time.js';
import type { RoutedChange } from './route-change.js';
import type { NewPartition, RoutePlan } from './route-plan.js';
import { QueueBudget } from './queue-budget.js';

/**
 * The replication origin a source transaction was written under (pgoutput's Origin message):
 * another replication tool's, or carve's own when the source is a database carve applies to (a
 * reverse stream skips those, see replication-origin.ts). Null for an application's transaction.
 */
export interface TransactionOrigin {
  name: string;
  /** The commit position on the origin's side, as set by pg_replication_origin_xact_setup. */
  lsn: Lsn;
}

/**
 * What the stream reader hands one sink, in source commit order:
 * - begin/commit bracket a source transaction that has changes for this sink
 * - advance: every source transaction that commits before `upTo` has been handed over, and none
 *   of those not already bracketed touches this target (a transaction for other targets, or a
 *   keepalive while no transaction was open); the target's position may move up to `upTo`
 */
export type ApplyItem =
  | RoutedChange
  | { kind: 'begin'; xid: number; commitLsn: Lsn; commitTime: PgTimestamp; origin: TransactionOrigin | null }
  | { kind: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTime: PgTimestamp }
  | { kind: 'advance'; upTo: Lsn }
  | { kind: 'truncate'; tables: TableRef[]; plans: RoutePlan[] }
  /** defaultLiteral: what rows from before the column hold there (the target column's default). */
  | { kind: 'add-column'; table: TableRef; column: string; type: string; defaultLiteral: string | null }
  /** Widen a column's type (only when the target's is narrower, see type-widening.ts). */
  | { kind: 'alter-column'; table: TableRef; column: string; type: string }
  /** Partitions to create when missing, parents first. */
  | { kind: 'add-partitions'; partitions: NewPartition[] };

const CONTROL_BYTES = 64;

/**
 * A bounded FIFO between the stream reader and one sink. The reader pushes without waiting
 * and then awaits `waitForSpace()`, so a slow target stops the reader (and the reader stops
 * reading the replication socket) instead of growing memory. The bound is a QueueBudget shared
 * by the queues of every sink of the session (or a budget of its own, given a number).
 */
export class ApplyQueue {
  private items: (ApplyItem | undefined)[] = [];
  private head = 0;
  private bytesValue = 0;
  private itemWaiter: (() => void) | undefined;
  readonly budget: QueueBudget;

  constructor(budget: QueueBudget | number) {
    this.budget = typeof budget === 'number' ? new QueueBudget(budget) : budget;
    this.budget.join();
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  get full(): boolean {
    return this.budget.full(this.bytesValue);
  }

  push(item: ApplyItem): void {
    if (item.kind === 'advance' && this.length > 0) {
      const last = this.items[this.items.length - 1]!;
      if (last.kind === 'advance') {
        if (item.upTo > last.upTo) last.upTo = item.upTo;
        return;
      }
    }
    this.items.push(item);
    const size = sizeOf(item);
    this.bytesValue += size;
    this.budget.add(size);
    const wake = this.itemWaiter;
    this.itemWaiter = undefined;
    wake?.();
  }

  peek(): ApplyItem | undefined {
    return this.items[this.head];
  }

  shift(): ApplyItem | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined;
    const size = sizeOf(item);
    this.bytesValue -= size;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 8192 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.budget.release(size);
    return item;
  }

  /** Resolves once the queues of the budget have room again (immediately when this one is not full). */
  waitForSpace(): Promise<void> {
    return this.budget.waitForSpace(this.bytesValue);
  }

  /** Resolves true when an item is available, false after `timeoutMs` without one. */
  waitForItem(timeoutMs: number): Promise<boolean> {
    if (this.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.itemWaiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.itemWaiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Wake a waiting consumer without an item (to re-check holds, stop …). */
  nudge(): void {
    const wake = this.itemWaiter;
    this.itemWaiter = undefined;
    wake?.();
  }

  /** Drop everything (the session is ending) and release a waiting producer. */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.budget.release(this.bytesValue);
    this.bytesValue = 0;
    this.budget.wake();
    this.nudge();
  }
}

function sizeOf(item: ApplyItem): number {
  return 'bytes' in item ? item.bytes + CONTROL_BYTES : CONTROL_BYTES;
}
