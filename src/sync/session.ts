import { atService, withClient } from '../pg/connect.js';
import { formatLsn, minLsn, type Lsn } from '../pg/lsn.js';
import { ReplicationStream } from '../pg/replication/replication-stream.js';
import type { Routing } from '../routing/model.js';
import { sourceSessionUrl } from './source-session.js';
import type { SourceControl } from './source-control.js';
import { StreamDispatcher } from './stream-dispatch.js';
import type { BatchSettings } from './options.js';
import type { SyncState } from './state.js';
import { TargetApplier, type CommittedBatch } from './target-applier.js';

export interface SessionContext {
  routing: Routing;
  state: SyncState;
  control: SourceControl;
  batch: BatchSettings;
  applicationName: string;
  holdPollMs: number;
  positionFlushMs: number;
  recordLatency: boolean;
  extraColumns: Map<string, Map<string, string>>;
  /** Per database: apply without collapsing until this position (after a unique violation). */
  strictUntil: Map<string, Lsn>;
  /** The engine's in-process hold, installed on every applier of every session. */
  apiHold(): Lsn | null;
  onStarted(session: SyncSession): void;
  onCommitted(session: SyncSession, applier: TargetApplier, info: CommittedBatch): void;
  onHold(applier: TargetApplier, lsn: Lsn, outcome: 'reached' | 'failed' | 'released', error?: string): void;
  onAddedColumn(applier: TargetApplier, table: string, column: string, type: string): void;
  onAddedPartition(applier: TargetApplier, table: string): void;
}

/** An error of one target database's applier, so the engine knows which one failed. */
export class ApplierFailure extends Error {
  constructor(
    readonly database: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ApplierFailure';
  }
}

/**
 * One streaming session: appliers connected to every target, a replication stream started at the
 * minimum durable position, and the dispatcher between them. It ends on stop() or at the first
 * error anywhere; the engine then starts a new session from the durable positions (each target
 * skips what it already has), which is also exactly what a restart after kill -9 does.
 */
export class SyncSession {
  appliers: TargetApplier[] = [];
  stream: ReplicationStream | undefined;
  dispatcher: StreamDispatcher | undefined;
  lastMessageAt = Date.now();
  /** The reader is handing a batch of messages over (it may be waiting for queue space). */
  private reading = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly ctx: SessionContext,
    readonly number: number,
  ) {}

  /** Resolves when stopped; rejects with the first failure (the session is torn down by then). */
  async run(): Promise<void> {
    const { routing, state } = this.ctx;
    try {
      const positions = await Promise.all(
        routing.services.map((s) =>
          withClient(atService(s.url), (client) => state.readPosition(client)).catch((error: unknown) => {
            throw new ApplierFailure(s.database, error);
          }),
        ),
      );
      this.appliers = routing.services.map(
        (service, i) =>
          new TargetApplier({
            service,
            state,
            sourceUrl: routing.sourceUrl,
            position: positions[i]!.lsn,
            commitTime: positions[i]!.commitTime,
            batch: this.ctx.batch,
            strictUntil: this.ctx.strictUntil.get(service.database) ?? 0n,
            applicationName: this.ctx.applicationName,
            holdPollMs: this.ctx.holdPollMs,
            positionFlushMs: this.ctx.positionFlushMs,
            recordLatency: this.ctx.recordLatency,
            onCommitted: (applier, info) => this.ctx.onCommitted(this, applier, info),
            onHold: (applier, lsn, outcome, error) => this.ctx.onHold(applier, lsn, outcome, error),
            onAddedColumn: (applier, table, column, type) =>
              this.ctx.onAddedColumn(applier, table, column, type),
            onAddedPartition: (applier, table) => this.ctx.onAddedPartition(applier, table),
            moreComing: () => this.reading || (this.stream?.buffered.messages ?? 0) > 0,
          }),
      );
      await Promise.all(
        this.appliers.map((a) =>
          a.connect().catch((error: unknown) => {
            throw new ApplierFailure(a.database, error);
          }),
        ),
      );
      const hold = this.ctx.apiHold();
      if (hold !== null) for (const applier of this.appliers) applier.holds.addApi(hold);
      if (this.stopping) return;
      const startLsn = minLsn(positions[0]!.lsn, ...positions.map((p) => p.lsn));
      this.stream = await ReplicationStream.start({
        url: sourceSessionUrl(routing.sourceUrl),
        slot: routing.names.slot,
        publication: routing.names.publication,
        startLsn,
        applicationName: this.ctx.applicationName,
        maxBufferedBytes: Math.max(256 * 1024, Math.min(4 * 1024 * 1024, this.ctx.batch.queueBytes / 2)),
      });
      this.dispatcher = new StreamDispatcher(routing, this.appliers, this.ctx.extraColumns, {
        resolveType: (oid, mod) => this.ctx.control.formatType(oid, mod),
        partitionChain: (relationId) => this.ctx.control.partitionChain(relationId),
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
        for (const applier of this.appliers) {
          applier.run().then(
            () => {},
            (error) => fail(this.stopping ? error : new ApplierFailure(applier.database, error)),
          );
        }
      });
    } finally {
      await this.stop();
    }
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

  /** Acknowledge the minimum durable position across targets (never beyond what was received). */
  acknowledge(): Lsn | undefined {
    const stream = this.stream;
    if (!stream || this.appliers.length === 0) return undefined;
    const min = minLsn(this.appliers[0]!.durable, ...this.appliers.map((a) => a.durable));
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
      await Promise.all(this.appliers.map((a) => a.stop()));
    })();
    return this.stopped;
  }
}
