import { CarveError } from '../errors.js';
import { formatLsn, minLsn, type Lsn } from '../pg/lsn.js';
import { ReplicationStream } from '../pg/replication/replication-stream.js';
import { routesForSource, type Routing, type ServiceRoute, type TableRoute } from '../routing/model.js';
import type { TransactionOrigin } from './apply-queue.js';
import type { TableRef } from '../catalog/model.js';
import { atService, withSession } from '../pg/connect.js';
import { sourceSessionUrl } from './source-session.js';
import type { SourceControl } from './source-control.js';
import { StreamDispatcher } from './stream-dispatch.js';
import type { BatchSettings } from './options.js';
import { replicationOriginName, writtenByReverseStreamOf } from './replication-origin.js';
import {
  SinkFailure,
  type CommittedBatch,
  type HoldOutcome,
  type Sink,
  type SinkContext,
  type SinkFactory,
} from './sink.js';
import type { SyncState } from './state.js';
import { QueueBudget } from './queue-budget.js';
import { TargetApplier } from './target-applier.js';
import type { BehindTarget } from './behind-slot.js';

export interface SessionContext {
  routing: Routing;
  state: SyncState;
  control: SourceControl;
  batch: BatchSettings;
  applicationName: string;
  holdPollMs: number;
  positionFlushMs: number;
  guardIntervalMs: number;
  recordLatency: boolean;
  extraColumns: Map<string, Map<string, string>>;
  /** Per database: apply without collapsing until this position (after a unique violation). */
  strictUntil: Map<string, Lsn>;
  /** Sinks beside the service databases' appliers (SyncOptions.sinks). */
  sinkFactories: readonly SinkFactory[];
  /** Create the service databases' appliers (SyncOptions.appliers). */
  appliers: boolean;
  /** The engine's in-process hold, installed on every sink of every session. */
  apiHold(): Lsn | null;
  onStarted(session: SyncSession): void;
  onCommitted(session: SyncSession, sink: Sink, info: CommittedBatch): void;
  onHold(sink: Sink, lsn: Lsn, outcome: HoldOutcome, error?: string): void;
  onAddedColumn(applier: TargetApplier, table: string, column: string, type: string): void;
  onAddedPartition(applier: TargetApplier, table: string): void;
  /**
   * The replication origin each applier writes under (default: carve's forward origin of its
   * database); the reverse stream's applier into the monolith writes under the reverse one.
   */
  applierOrigin?(service: ServiceRoute): string;
  /** Look for planted code on the target tables (default true; see target-guard.ts, docs/security.md). */
  guardTargets?: boolean;
  /**
   * Whether a transaction written under a replication origin must not reach a route (loop
   * prevention, see stream-dispatch.ts). Default: carve's reverse origin of the route's database.
   */
  skipOrigin?(origin: TransactionOrigin, route: TableRoute): boolean;
  /**
   * The error to stop with when appliers' positions are behind where the server resumes the
   * stream (the slot's confirmed position): they would silently miss the changes in between
   * (behind-slot.ts). Without it, not checked.
   */
  behindSlot?(behind: BehindTarget[], slotLsn: Lsn): Error | null;
}

/**
 * One streaming session: every sink opened (the service databases' appliers and any others), a
 * replication stream started at the minimum durable position over them, and the dispatcher
 * between them. It ends on stop() or at the first error anywhere; the engine then starts a new
 * session from the durable positions (each sink skips what it already has), which is also
 * exactly what a restart after kill -9 does.
 */
export class SyncSession {
  /** Every sink, once all are open (empty before). */
  sinks: Sink[] = [];
  stream: ReplicationStream | undefined;
  dispatcher: StreamDispatcher | undefined;
  lastMessageAt = Date.now();
  /** The reader is handing a batch of messages over (it may be waiting for queue space). */
  private reading = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private created: Sink[] = [];

  constructor(
    private readonly ctx: SessionContext,
    readonly number: number,
  ) {}

  /** Resolves when stopped; rejects with the first failure (the session is torn down by then). */
  async run(): Promise<void> {
    const { routing } = this.ctx;
    try {
      this.created = this.createSinks();
      await Promise.all(
        this.created.map((sink) =>
          sink.open().catch((error: unknown) => {
            throw new SinkFailure(sink.name, sink.kind, error);
          }),
        ),
      );
      this.sinks = this.created;
      const hold = this.ctx.apiHold();
      if (hold !== null) for (const sink of this.sinks) sink.holds.addApi(hold);
      if (this.stopping) return;
      const startLsn = minLsn(this.sinks[0]!.durable, ...this.sinks.map((s) => s.durable));
      this.stream = await ReplicationStream.start({
        url: sourceSessionUrl(routing.sourceUrl),
        slot: routing.names.slot,
        publication: routing.names.publication,
        startLsn,
        applicationName: this.ctx.applicationName,
        maxBufferedBytes: Math.max(256 * 1024, Math.min(4 * 1024 * 1024, this.ctx.batch.queueBytes / 2)),
      });
      // stop() during the start found no stream to end (and stop() runs its teardown only once):
      // end this one here, or its walsender keeps the slot active and every later carve sync
      // retries "slot active" for ever.
      if (this.stopping) {
        await this.stream.stop().catch(() => {});
        return;
      }
      // The server started at max(startLsn, the slot's confirmed position): an applier behind that
      // would miss what lies between. Nothing has been dispatched yet.
      const resumeLsn = this.stream.resumeLsn;
      const behind = this.sinks
        .filter((sink) => sink instanceof TargetApplier && sink.durable < resumeLsn)
        .map((sink) => ({ database: sink.name, applied: sink.durable }));
      const refused = behind.length > 0 ? this.ctx.behindSlot?.(behind, resumeLsn) : null;
      if (refused) throw refused;
      const migration = routing.names.migration;
      this.dispatcher = new StreamDispatcher(routing, this.sinks, this.ctx.extraColumns, {
        resolveType: (oid, mod) => this.ctx.control.formatType(oid, mod),
        partitionChain: (relationId) => this.ctx.control.partitionChain(relationId),
        skipOrigin: this.ctx.skipOrigin?.bind(this.ctx) ?? writtenByReverseStreamOf(migration),
        tableColumns: (table) => this.ctx.control.tableColumns(table),
        resyncFloor: (table) => this.resyncFloor(table),
        relationName: (relationId) => this.ctx.control.relationName(relationId),
      });
      if (this.stopping) return;
      this.ctx.onStarted(this);
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (error: unknown) => {
          if (settled) return;
          settled = true;
          reject(error);
        };
        this.read().then(() => {
          if (!settled) {
            settled = true;
            resolve();
          }
        }, fail);
        for (const sink of this.sinks) {
          sink.run().then(
            () => {},
            (error) => fail(this.stopping ? error : new SinkFailure(sink.name, sink.kind, error)),
          );
        }
      });
    } finally {
      await this.stop();
    }
  }

  /** The applier of every service database, then the sinks of SyncOptions.sinks, in that order. */
  private createSinks(): Sink[] {
    const { routing, state } = this.ctx;
    const context: SinkContext = {
      routing,
      batch: this.ctx.batch,
      // One bound for the queues of all sinks together (queue-budget.ts): memory does not grow
      // with the number of service databases.
      queueBudget: new QueueBudget(this.ctx.batch.queueBytes),
      applicationName: this.ctx.applicationName,
      holdPollMs: this.ctx.holdPollMs,
      positionFlushMs: this.ctx.positionFlushMs,
      recordLatency: this.ctx.recordLatency,
      moreComing: () => this.reading || (this.stream?.buffered.messages ?? 0) > 0,
      onCommitted: (sink, info) => this.ctx.onCommitted(this, sink, info),
      onHold: (sink, lsn, outcome, error) => this.ctx.onHold(sink, lsn, outcome, error),
    };
    const services = this.ctx.appliers ? routing.services : [];
    const sinks: Sink[] = services.map(
      (service) =>
        new TargetApplier(context, {
          service,
          state,
          sourceUrl: routing.sourceUrl,
          origin:
            this.ctx.applierOrigin?.(service) ??
            replicationOriginName(routing.names.migration, 'fwd', service.database),
          guard: this.ctx.guardTargets !== false,
          strictUntil: this.ctx.strictUntil.get(service.database) ?? 0n,
          guardIntervalMs: this.ctx.guardIntervalMs,
          onAddedColumn: (applier, table, column, type) =>
            this.ctx.onAddedColumn(applier, table, column, type),
          onAddedPartition: (applier, table) => this.ctx.onAddedPartition(applier, table),
        }),
    );
    for (const factory of this.ctx.sinkFactories) sinks.push(factory(context));
    const names = new Set<string>();
    for (const sink of sinks) {
      if (names.has(sink.name)) {
        throw new CarveError('SYNC_SINK_DUPLICATE', `Two sinks are named ${sink.name}`, {
          details: { sink: sink.name },
          hint: 'Give every sink passed in SyncOptions.sinks a name unique among them and the service databases.',
        });
      }
      names.add(sink.name);
    }
    return sinks;
  }

  private async read(): Promise<void> {
    const stream = this.stream!;
    const dispatcher = this.dispatcher!;
    for (;;) {
      const messages = await stream.readBatch(2048);
      if (messages === null) return; // stopped
      if (messages.length === 0) continue;
      this.lastMessageAt = Date.now();
      this.reading = true;
      try {
        await dispatcher.dispatch(messages);
      } finally {
        this.reading = false;
      }
    }
  }

  /** See DispatchHooks.resyncFloor: read from each database holding a route of the table. */
  private async resyncFloor(table: TableRef): Promise<Lsn | null> {
    const { routing, state } = this.ctx;
    let floor: Lsn | null = null;
    for (const route of routesForSource(routing, table)) {
      const service = routing.services.find((s) => s.database === route.database)!;
      const marks = await withSession(atService(service.url), (client) => state.readResyncs(client));
      const mark = marks.get(route.id);
      if (!mark) return null;
      if (floor === null || mark.lsn < floor) floor = mark.lsn;
    }
    return floor;
  }

  /** Acknowledge the minimum durable position over all sinks (never beyond what was received). */
  acknowledge(): Lsn | undefined {
    const stream = this.stream;
    if (!stream || this.sinks.length === 0) return undefined;
    const min = minLsn(this.sinks[0]!.durable, ...this.sinks.map((s) => s.durable));
    if (min > stream.acknowledgedLsn && min <= stream.receivedLsn) stream.acknowledge(min);
    return min;
  }

  describe(): string {
    return `session ${this.number} from ${this.stream ? formatLsn(this.stream.resumeLsn) : '?'}`;
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      await this.stream?.stop().catch(() => {});
      await Promise.all(this.created.map((s) => s.stop()));
    })();
    return this.stopped;
  }
}
