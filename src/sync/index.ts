import { CarveError, databaseOf, isCarveError } from '../errors.js';
import { atService, withSession } from '../pg/connect.js';
import { formatLsn, maxLsn, minLsn, type Lsn } from '../pg/lsn.js';
import { pgTimestampToUnixMillis } from '../pg/replication/pg-time.js';
import { acquireMigrationLock, type MigrationLock } from '../state/migration-lock.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { SourceControl } from './source-control.js';
import { HoldCoordinator } from './hold-coordinator.js';
import { describeSyncError, isTransientSyncError, isUniqueViolation, syncFailure } from './errors.js';
import type { SyncEvent, SyncResult, TargetLag } from './events.js';
import { DEFAULT_BATCH, type SyncOptions } from './options.js';
import { checkSyncPreconditions } from './preflight.js';
import { readMovedServices } from './moved-services.js';
import { behindSlotError, type BehindTarget } from './behind-slot.js';
import { slotInfo } from '../pg/replication/slot.js';
import { LagRecorder } from './lag-recorder.js';
import { liveLag } from './lag-seconds.js';
import { SequenceCarrier } from './sequence-carrier.js';
import { SyncSession, type SessionContext } from './session.js';
import { SyncState, type SyncStopError } from './state.js';
import type { HoldOutcome, Sink } from './sink.js';

interface Waiter {
  lsn: Lsn;
  resolve: (lsn: Lsn) => void;
}

/**
 * Streams the monolith's changes into every service database until stopped (see docs/sync.md).
 *
 *   const engine = await startSync({ routing, onEvent });
 *   await engine.waitForCatchUp();            // everything committed so far is applied
 *   const lsn = await engine.holdAt(lsnOrFn); // targets stop exactly before lsn
 *   engine.release();
 *   await engine.stop();
 *
 * Library code: never prints, never exits; progress is reported through `onEvent`.
 */
export class SyncEngine {
  readonly done: Promise<SyncResult>;
  private resolveDone!: (result: SyncResult) => void;
  private rejectDone!: (error: unknown) => void;
  private readonly routing: SyncOptions['routing'];
  private readonly state: SyncState;
  private readonly control: SourceControl;
  private readonly emit: (event: SyncEvent) => void;
  private readonly context: SessionContext;
  private lock: MigrationLock | undefined;
  private session: SyncSession | undefined;
  private sessions = 0;
  private stopping = false;
  private stopReason: SyncResult['reason'] = 'stopped';
  private wake: (() => void) | undefined;
  private waiters: Waiter[] = [];
  private readonly holds: HoldCoordinator;
  private progress = 0;
  private lastHeartbeat = 0;
  private known = new Map<string, { durable: Lsn; commitTime: string | null }>();
  private rates = new Map<string, { at: number; changes: number; perSecond: number }>();
  private timers: NodeJS.Timeout[] = [];
  private caughtUpTarget: Lsn | null = null;
  private started = false;
  private readonly sequences: SequenceCarrier;
  /** Names of the sinks of SyncOptions.sinks, and every sink's kind, as sessions open them. */
  private extraSinks: string[] = [];
  private kinds = new Map<string, string>();
  /** Every session's name; the migration lock's too, so a command it refuses names this one. */
  private readonly applicationName: string;

  constructor(private readonly options: SyncOptions) {
    this.routing = options.routing;
    const names = this.routing.names;
    const applicationName = options.applicationName ?? `carve sync (${names.migration})`;
    this.applicationName = applicationName;
    this.state = new SyncState(names.stateSchema, names.migration);
    this.holds = new HoldCoordinator(
      () => this.sinkNames(),
      () => this.session?.sinks ?? [],
      () => [...this.known.values()].map((p) => p.durable),
    );
    this.control = new SourceControl(this.routing.sourceUrl, `${applicationName} control`);
    const listener = options.onEvent;
    this.emit = listener ? (event) => listener(event) : () => {};
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // a caller that never awaits done must not crash the process
    this.sequences = new SequenceCarrier(this.routing, applicationName, this.emit);
    this.lagRecorder = new LagRecorder(this.routing, applicationName);
    this.context = {
      routing: this.routing,
      state: this.state,
      control: this.control,
      batch: { ...DEFAULT_BATCH, ...options.batch },
      applicationName,
      holdPollMs: options.holdPollMs ?? 200,
      positionFlushMs: options.positionFlushMs ?? 1000,
      guardIntervalMs: options.guardIntervalMs ?? 10_000,
      recordLatency: options.recordLatency ?? false,
      extraColumns: new Map(),
      strictUntil: new Map(),
      sinkFactories: options.sinks ?? [],
      appliers: options.appliers !== false,
      apiHold: () => this.holds.current,
      onStarted: (session) => this.onSessionStarted(session),
      onCommitted: (session, sink, info) => {
        this.progress++;
        this.known.set(sink.name, { durable: sink.durable, commitTime: sink.durableCommitTime });
        session.acknowledge();
        if (info.transactions > 0 || info.changes > 0) {
          this.emit({
            type: 'batch-applied',
            database: sink.name,
            appliedLsn: formatLsn(info.position),
            transactions: info.transactions,
            changes: info.changes,
            ...(info.latenciesMs ? { latenciesMs: info.latenciesMs } : {}),
          });
        }
        this.checkWaiters();
      },
      onHold: (sink, lsn, outcome, error) => this.onHold(sink, lsn, outcome, error),
      onAddedColumn: (applier, table, column, type) =>
        this.emit({ type: 'column-added', database: applier.database, table, column, columnType: type }),
      onAddedPartition: (applier, table) =>
        this.emit({ type: 'partition-added', database: applier.database, table }),
      behindSlot: (behind, slotLsn) => behindSlotError(this.routing, behind, slotLsn),
    };
  }

  /**
   * Check that every target finished its copy and the slot exists (before any write), take the
   * migration lock, and start streaming in the background. Resolves once the first session streams.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('SyncEngine.start() called twice');
    this.started = true;
    const duringCopy = this.options.duringCopy === true;
    if (this.options.appliers === false && (this.options.sinks ?? []).length === 0) {
      throw new CarveError('SYNC_NO_SINK', 'Sync without in-process appliers needs another sink', {
        details: {},
        hint: 'Configure events: in the plan (carve sync --sink kafka-only publishes to Kafka), or let sync apply in process.',
      });
    }
    await checkSyncPreconditions(this.routing, { loadedOnly: duringCopy });
    // carve copy holds the migration lock itself while it runs an engine.
    if (!duringCopy) this.lock = await this.takeLock(this.options.lockWaitMs ?? 5000);
    try {
      // Before anything is written: no database applied here may be behind the slot (behind-slot.ts).
      if (this.options.appliers !== false) await this.refuseTargetsBehindSlot();
      for (const service of this.routing.services) {
        await withSession(atService(service.url), async (client) => {
          await ensureStateSchema(client, this.routing.names.stateSchema); // migrations newer than the copy
          await this.state.recordSyncError(client, null);
          const position = await this.state.readPosition(client);
          this.known.set(service.database, { durable: position.lsn, commitTime: position.commitTime });
        });
      }
      if (this.options.untilCaughtUp) this.caughtUpTarget = await this.control.currentWalLsn();
    } catch (error) {
      await this.lock?.release();
      await this.control.close();
      throw error;
    }
    this.emit({
      type: 'sync-started',
      slot: this.routing.names.slot,
      publication: this.routing.names.publication,
      targets: [...this.known].map(([database, p]) => ({ database, appliedLsn: formatLsn(p.durable) })),
      caughtUpTarget: this.caughtUpTarget === null ? null : formatLsn(this.caughtUpTarget),
    });
    const streaming = new Promise<void>((resolve) => (this.firstStream = resolve));
    if (this.caughtUpTarget !== null) {
      void this.waitForCatchUp(this.caughtUpTarget).then(
        (lsn) => {
          this.emit({ type: 'caught-up', lsn: formatLsn(lsn) });
          this.stopReason = 'caught-up';
          void this.stop();
        },
        () => {},
      ); // the engine ended first: `done` carries the reason
    }
    this.options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.timers.push(setInterval(() => void this.lagTick(), this.options.lagIntervalMs ?? 1000));
    this.timers.push(setInterval(() => void this.heartbeatTick(), 200));
    this.sequences.start(this.options.sequenceIntervalMs ?? 10_000);
    void this.loop().then(
      () => this.finish(),
      (error) => this.finish(error),
    );
    await Promise.race([streaming, this.done.then(() => {})]);
  }

  private firstStream: (() => void) | undefined;

  /**
   * Read under the migration lock, so no other carve sync moves the slot meanwhile (a running
   * carve apply only moves positions forward). Every session checks again against where the
   * server actually resumes (SessionContext.behindSlot).
   */
  private async refuseTargetsBehindSlot(): Promise<void> {
    const behind: BehindTarget[] = [];
    for (const service of this.routing.services) {
      const { lsn } = await withSession(atService(service.url), (client) => this.state.readPosition(client));
      behind.push({ database: service.database, applied: lsn });
    }
    const slot = await slotInfo(this.routing.sourceUrl, this.routing.names.slot);
    const slotLsn = slot.exists ? slot.confirmedFlushLsn : null;
    if (slotLsn === null) return; // the stream's own checks say what is wrong with the slot
    const late = behind.filter((b) => b.applied < slotLsn);
    if (late.length === 0) return;
    throw behindSlotError(this.routing, late, slotLsn, await readMovedServices(this.routing))!;
  }

  /**
   * The migration lock, waiting up to `waitMs` for a holder to go away: a carve process killed a
   * moment ago holds it until its backend notices the closed connection.
   */
  private async takeLock(waitMs: number): Promise<MigrationLock> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return await acquireMigrationLock(this.routing.sourceUrl, this.routing.names.migration, 'sync', {
          applicationName: this.applicationName,
        });
      } catch (error) {
        if (!isCarveError(error, 'MIGRATION_LOCKED') || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** Stop streaming (an open target transaction is rolled back and replayed next time). */
  async stop(): Promise<SyncResult> {
    this.stopping = true;
    this.wake?.();
    await this.session?.stop();
    return this.done;
  }

  /**
   * Resolves once every target has durably applied every transaction committed on the monolith
   * before `lsn` (default: the monolith's current WAL position, read now). Returns that position.
   */
  async waitForCatchUp(lsn?: Lsn): Promise<Lsn> {
    const target = lsn ?? (await this.control.currentWalLsn());
    const reached = new Promise<Lsn>((resolve) => {
      this.waiters.push({ lsn: target, resolve });
      this.checkWaiters();
    });
    // An engine that stops or fails first will never get there: say so instead of waiting forever.
    const ended = this.done.then(
      () => {
        throw new CarveError('SYNC_STOPPED', `Sync stopped before reaching ${formatLsn(target)}`, {
          details: { lsn: formatLsn(target) },
          hint: "Run carve sync again: it resumes from each target's applied position.",
        });
      },
      (error: unknown) => {
        throw error;
      },
    );
    return Promise.race([reached, ended]);
  }

  /**
   * Make every target apply every source transaction committing before `lsn` and none at or after
   * it, then resolve with `lsn`; the targets stay there until release().
   *
   * Pass a function to choose the point race-free (e.g. a verify snapshot's LSN): the engine first
   * holds every target right after the last transaction it has applied anywhere, then calls the
   * function, then moves the hold forward to what it returns. With a plain LSN, targets that already
   * applied a transaction at or after it reject with SYNC_HOLD_PASSED.
   */
  holdAt(point: Lsn | (() => Promise<Lsn>)): Promise<Lsn> {
    return this.holds.holdAt(point);
  }

  /** Continue after holdAt(). */
  release(): void {
    this.holds.release();
  }

  /**
   * Current per-sink progress (the same data as `lag` events, without the monolith's WAL position):
   * the service databases first, then the sinks of SyncOptions.sinks.
   */
  status(serverLsn: Lsn | null = null): TargetLag[] {
    const sinks = new Map((this.session?.sinks ?? []).map((s) => [s.name, s]));
    const now = Date.now();
    const newestSeenCommitMs = newestCommitMs([...sinks.values()], this.known);
    // The previous reading: everything committed before it has had a tick's time to arrive.
    const lagServerLsn = this.serverSeen ?? serverLsn;
    return this.sinkNames().map((name) => {
      const sink = sinks.get(name);
      const known = this.known.get(name);
      const durable = sink?.durable ?? known?.durable ?? 0n;
      const oldest = sink?.unapplied[0];
      const lag = liveLag({
        nowMs: now,
        oldestUnappliedMs: oldest === undefined ? null : pgTimestampToUnixMillis(oldest),
        processedLsn: sink?.position ?? durable,
        serverLsn: lagServerLsn,
        newestSeenCommitMs,
      });
      const holdLsn = sink?.holds.lowest();
      return {
        database: name,
        kind: sink?.kind ?? this.kinds.get(name) ?? 'applier',
        appliedLsn: formatLsn(durable),
        commitTime: sink?.durableCommitTime ?? known?.commitTime ?? null,
        lagBytes: serverLsn !== null && serverLsn > durable ? Number(serverLsn - durable) : 0,
        lagSeconds: lag.seconds,
        lagExact: lag.exact,
        changesPerSecond: this.rates.get(name)?.perSecond ?? 0,
        queuedBytes: sink?.queue.bytes ?? 0,
        holdLsn: holdLsn === undefined ? null : formatLsn(holdLsn),
        held: sink !== undefined && holdLsn !== undefined && sink.position >= holdLsn,
        refetchedRows: sink?.totals.refetched ?? 0,
        totalChanges: sink?.totals.changes ?? 0,
        totalTransactions: sink?.totals.transactions ?? 0,
      };
    });
  }

  /** Every sink's name: the service databases, then the other sinks (known once a session opened them). */
  private sinkNames(): string[] {
    const appliers = this.options.appliers === false ? [] : this.routing.services.map((s) => s.database);
    return [...appliers, ...this.extraSinks];
  }

  private onHold(sink: Sink, lsn: Lsn, outcome: HoldOutcome, error?: string): void {
    const database = sink.name;
    this.known.set(database, { durable: sink.durable, commitTime: sink.durableCommitTime });
    if (outcome === 'reached') this.emit({ type: 'hold-reached', database, lsn: formatLsn(lsn) });
    else if (outcome === 'released') this.emit({ type: 'hold-released', database, lsn: formatLsn(lsn) });
    else this.emit({ type: 'hold-failed', database, lsn: formatLsn(lsn), error: error ?? '' });
    if (outcome !== 'released') this.holds.report(database, lsn, outcome, error);
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    const positions = this.sinkNames().map((name) => this.known.get(name)?.durable ?? 0n);
    const min = minLsn(positions[0] ?? 0n, ...positions);
    const ready = this.waiters.filter((w) => min >= w.lsn);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => min < w.lsn);
    for (const waiter of ready) waiter.resolve(waiter.lsn);
  }

  private onSessionStarted(session: SyncSession): void {
    this.session = session;
    for (const sink of session.sinks) {
      this.known.set(sink.name, { durable: sink.durable, commitTime: sink.durableCommitTime });
      const service = this.routing.services.some((s) => s.database === sink.name);
      if (!service && !this.extraSinks.includes(sink.name)) this.extraSinks.push(sink.name);
      this.kinds.set(sink.name, sink.kind);
    }
    const stream = session.stream!;
    this.emit({
      type: 'stream-started',
      session: session.number,
      startLsn: formatLsn(stream.startLsn),
      resumeLsn: formatLsn(stream.resumeLsn),
    });
    this.firstStream?.();
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    const initialMs = this.options.reconnect?.initialMs ?? 250;
    const maxMs = this.options.reconnect?.maxMs ?? 10_000;
    while (!this.stopping) {
      const progressBefore = this.progress;
      const session = new SyncSession(this.context, ++this.sessions);
      try {
        if (this.sessions > 1 && this.options.duringCopy !== true) {
          // The lock lives on a monolith connection, which a monolith restart ends.
          await this.lock?.release();
          this.lock = undefined;
          this.lock = await acquireMigrationLock(
            this.routing.sourceUrl,
            this.routing.names.migration,
            'sync',
            { applicationName: this.applicationName },
          );
        }
        this.session = session;
        await session.run();
        if (!this.stopping)
          throw new CarveError('SYNC_STREAM_ENDED', 'The replication stream ended', { transient: true });
      } catch (error) {
        if (this.stopping) break;
        const info = describeSyncError(error);
        if (!this.retryable(error, session)) throw syncFailure(error);
        if (this.progress > progressBefore) attempt = 0;
        attempt++;
        const delayMs = Math.round(
          Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4),
        );
        this.emit({ type: 'reconnecting', attempt, delayMs, error: info });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      } finally {
        for (const sink of session.sinks) {
          this.known.set(sink.name, { durable: sink.durable, commitTime: sink.durableCommitTime });
        }
      }
    }
  }

  /** Transient failures reconnect; a unique violation retries that target once in strict order. */
  private retryable(error: unknown, session: SyncSession): boolean {
    if (isUniqueViolation(error)) {
      const applier = session.sinks.find((s) => s.name === error.sink);
      const until = this.context.strictUntil.get(error.sink);
      if (until !== undefined && applier && applier.durable < until) return false; // failed in strict order too
      this.context.strictUntil.set(error.sink, session.dispatcher?.lastCommitEnd ?? 0n);
      return true;
    }
    return isTransientSyncError(error);
  }

  private async lagTick(): Promise<void> {
    if (this.lagRunning) return;
    this.lagRunning = true;
    try {
      const serverLsn = await this.control.currentWalLsn().catch(() => null);
      const now = Date.now();
      for (const sink of this.session?.sinks ?? []) {
        const previous = this.rates.get(sink.name);
        const changes = sink.totals.changes;
        const perSecond =
          previous && now > previous.at
            ? Math.max(0, ((changes - previous.changes) * 1000) / (now - previous.at))
            : 0;
        this.rates.set(sink.name, { at: now, changes, perSecond: Math.round(perSecond) });
      }
      const stream = this.session?.stream;
      const targets = this.status(serverLsn);
      if (serverLsn !== null) this.serverSeen = serverLsn;
      this.lagRecorder.record(targets);
      this.emit({
        type: 'lag',
        serverLsn: serverLsn === null ? null : formatLsn(serverLsn),
        receivedLsn: formatLsn(stream?.receivedLsn ?? 0n),
        acknowledgedLsn: formatLsn(stream?.acknowledgedLsn ?? 0n),
        targets,
      });
    } finally {
      this.lagRunning = false;
    }
  }

  private lagRunning = false;
  /** The monolith's WAL position at the previous lag tick (see liveLag). */
  private serverSeen: Lsn | null = null;
  private readonly lagRecorder: LagRecorder;

  /**
   * While someone waits for a position (a hold, catch-up), make sure the stream gets there: ask
   * appliers whose processed position is past it to write it now, and if the stream has shown
   * nothing at or past it for a while, write a heartbeat into the monolith's WAL (see SourceControl).
   */
  private async heartbeatTick(): Promise<void> {
    const session = this.session;
    const stream = session?.stream;
    if (!session || !stream) return;
    const wanted: Lsn[] = this.waiters.map((w) => w.lsn);
    if (this.holds.current !== null) wanted.push(this.holds.current);
    for (const sink of session.sinks) {
      const lowest = sink.holds.lowest();
      if (lowest !== undefined) wanted.push(lowest);
    }
    if (wanted.length === 0) return;
    const target = maxLsn(wanted[0]!, ...wanted);
    for (const sink of session.sinks) if (sink.durable < target) sink.expeditePosition();
    const quiet = Date.now() - session.lastMessageAt > 250;
    if (stream.receivedLsn < target && quiet && Date.now() - this.lastHeartbeat > 1000) {
      this.lastHeartbeat = Date.now();
      await this.control.emitHeartbeat().catch(() => {});
    }
  }

  /** Best effort: every target that can be reached records why sync stopped, for carve status. */
  private async recordStopError(error: unknown): Promise<void> {
    const info = describeSyncError(error);
    const record: SyncStopError = {
      code: info.code,
      message: info.message,
      hint: isCarveError(error) ? (error.hint ?? null) : null,
      database: info.database ?? (isCarveError(error) ? (databaseOf(error) ?? null) : null),
      at: new Date().toISOString(),
    };
    await Promise.all(
      this.routing.services.map((service) =>
        Promise.race([
          withSession(atService(service.url), (client) => this.state.recordSyncError(client, record)),
          new Promise((resolve) => setTimeout(resolve, RECORD_ERROR_TIMEOUT_MS).unref()),
        ]).catch(() => undefined),
      ),
    );
  }

  private async finish(error?: unknown): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.session?.stop();
    // After a clean end every applied row is in; bring the sequences to the monolith's values.
    await this.sequences.stop(error === undefined);
    await this.lagRecorder.close();
    if (error !== undefined) await this.recordStopError(error);
    await this.lock?.release();
    await this.control.close();
    const targets = this.sinkNames().map((name) => ({
      database: name,
      appliedLsn: formatLsn(this.known.get(name)?.durable ?? 0n),
    }));
    this.holds.abort(
      new CarveError('SYNC_STOPPED', 'Sync stopped before the hold was reached', { details: {} }),
    );
    if (error === undefined) {
      this.emit({ type: 'sync-stopped', reason: this.stopReason });
      this.resolveDone({ reason: this.stopReason, targets });
    } else {
      this.emit({ type: 'sync-stopped', reason: 'failed', error: describeSyncError(error) });
      this.rejectDone(error);
    }
  }
}

/** Source commit time (ms) of the newest transaction any sink received or made durable, if any. */
function newestCommitMs(
  sinks: readonly Sink[],
  known: ReadonlyMap<string, { commitTime: string | null }>,
): number | null {
  let newest: number | null = null;
  const see = (ms: number) => (newest = newest === null || ms > newest ? ms : newest);
  const seeText = (text: string | null) => {
    const ms = text === null ? Number.NaN : Date.parse(text);
    if (Number.isFinite(ms)) see(ms);
  };
  for (const sink of sinks) {
    const received = sink.unapplied.at(-1);
    if (received !== undefined) see(pgTimestampToUnixMillis(received));
    seeText(sink.durableCommitTime);
  }
  for (const { commitTime } of known.values()) seeText(commitTime);
  return newest;
}

/** Not longer than this on recording a failure in one target (it may be the one that is down). */
const RECORD_ERROR_TIMEOUT_MS = 5000;

/** Start a SyncEngine (preflight, lock, first session) and return it. */
export async function startSync(options: SyncOptions): Promise<SyncEngine> {
  const engine = new SyncEngine(options);
  await engine.start();
  return engine;
}
