import { formatLsn, type Lsn } from '../../src/pg/lsn.js';
import { pgTimestampToIso, type PgTimestamp } from '../../src/pg/replication/pg-time.js';
import type { TableRoute } from '../../src/routing/model.js';
import { BatchingSink, type DurablePosition } from '../../src/sync/batching-sink.js';
import type { SinkContext, SinkFactory, SinkItem } from '../../src/sync/sink.js';

/** One routed change as a destination outside PostgreSQL would see it. */
export interface RecordedChange {
  kind: 'upsert' | 'patch' | 'delete' | 'move' | 'truncate';
  route: string;
  database: string;
  /** Target table `schema.name` (every table, for a truncate). */
  table: string;
  /** Column name → text value (upsert and patch; sent columns only for a patch). */
  values?: Record<string, string | null>;
  key?: string;
}

export interface RecordedTransaction {
  xid: number;
  commitLsn: string;
  endLsn: string;
  commitTime: string;
  origin: { name: string; lsn: string } | null;
  changes: RecordedChange[];
}

/**
 * What survives a MemorySink across sessions and engine restarts: its durable position and the
 * transactions it made durable (like a broker's log), and, per session, everything delivered to it.
 */
export class MemoryStore {
  durable: Lsn;
  commitTime: string | null = null;
  readonly committed: RecordedTransaction[] = [];
  /** Per opened session: every transaction delivered, durable or not, in order. */
  readonly sessions: RecordedTransaction[][] = [];
  /** The next commit fails with this (once). */
  failNext: Error | undefined;
  private gate: { promise: Promise<void>; open: () => void } | undefined;

  constructor(durable: Lsn) {
    this.durable = durable;
  }

  /** Commits wait until resume(): a slow destination whose durable position stays behind. */
  stall(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate ??= { promise, open };
  }

  resume(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  /** Resolves when commits may proceed, rejects when `abandon` fires first. */
  passGate(abandon: Promise<never>): Promise<void> {
    return this.gate ? Promise.race([this.gate.promise, abandon]) : Promise.resolve();
  }
}

/**
 * An in-memory destination: a real Sink (BatchingSink subclass) that records every transaction
 * with its routed changes, and makes a batch durable by appending it to its store.
 */
export class MemorySink extends BatchingSink {
  readonly kind = 'memory';
  private delivered: RecordedTransaction[] = [];
  private batchTxns: RecordedTransaction[] = [];
  private current: RecordedTransaction | undefined;
  private abandon!: Promise<never>;
  private abandonNow!: (error: Error) => void;

  constructor(
    context: SinkContext,
    private readonly store: MemoryStore,
    readonly name: string,
    private readonly filter: (route: TableRoute) => boolean,
  ) {
    super(context);
  }

  accepts(route: TableRoute): boolean {
    return this.filter(route);
  }

  protected async connect(): Promise<DurablePosition> {
    this.abandon = new Promise<never>((_resolve, reject) => (this.abandonNow = reject));
    this.abandon.catch(() => {});
    this.delivered = [];
    this.store.sessions.push(this.delivered);
    return { lsn: this.store.durable, commitTime: this.store.commitTime };
  }

  protected async disconnect(): Promise<void> {
    this.abandonNow?.(new Error('memory sink stopped'));
  }

  protected async beginBatch(): Promise<void> {
    this.batchTxns = [];
  }

  protected deliver(item: SinkItem): void {
    switch (item.kind) {
      case 'begin':
        this.current = {
          xid: item.xid,
          commitLsn: formatLsn(item.commitLsn),
          endLsn: '',
          commitTime: pgTimestampToIso(item.commitTime),
          origin: item.origin ? { name: item.origin.name, lsn: formatLsn(item.origin.lsn) } : null,
          changes: [],
        };
        return;
      case 'commit':
        this.current!.endLsn = formatLsn(item.endLsn);
        this.batchTxns.push(this.current!);
        this.delivered.push(this.current!);
        this.current = undefined;
        return;
      case 'advance':
      case 'add-column':
      case 'alter-column':
      case 'add-partitions':
        return;
      case 'truncate':
        this.current!.changes.push({
          kind: 'truncate',
          route: item.plans.map((p) => p.route.id).join(','),
          database: item.plans.map((p) => p.database).join(','),
          table: item.tables.map((t) => `${t.schema}.${t.name}`).join(','),
        });
        return;
      default: {
        const { plan } = item;
        const change: RecordedChange = {
          kind: item.kind,
          route: plan.route.id,
          database: plan.database,
          table: `${plan.route.target.schema}.${plan.route.target.name}`,
          key: item.key,
        };
        if (item.kind !== 'delete') {
          change.values = {};
          plan.columns.forEach((column, i) => {
            const value = item.values[i];
            if (value !== undefined) change.values![column.target] = value;
          });
        }
        this.current!.changes.push(change);
      }
    }
  }

  protected async commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    await this.store.passGate(this.abandon);
    const failure = this.store.failNext;
    if (failure) {
      this.store.failNext = undefined;
      throw failure;
    }
    this.store.committed.push(...this.batchTxns);
    this.batchTxns = [];
    this.store.durable = position;
    if (commitTime !== null) this.store.commitTime = pgTimestampToIso(commitTime);
  }

  protected async writePosition(position: Lsn): Promise<void> {
    await this.store.passGate(this.abandon);
    this.store.durable = position;
  }
}

/** A SinkFactory for SyncOptions.sinks: every route by default. */
export function memorySink(
  store: MemoryStore,
  name = 'memory',
  filter: (route: TableRoute) => boolean = () => true,
): SinkFactory {
  return (context) => new MemorySink(context, store, name, filter);
}
