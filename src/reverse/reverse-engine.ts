import { CarveError } from '../errors.js';
import { atMonolith, atService, openSession, withSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { ServiceRoute } from '../routing/model.js';
import { describeSyncError, isTransientSyncError, isUniqueViolation, syncFailure } from '../sync/errors.js';
import { DEFAULT_BATCH } from '../sync/options.js';
import { replicationOriginName } from '../sync/replication-origin.js';
import { SyncSession, type SessionContext } from '../sync/session.js';
import { SourceControl } from '../sync/source-control.js';
import type { ReverseEvent, ReverseLag, ReverseResult } from './events.js';
import type { ReverseSyncOptions } from './options.js';
import { reverseRouting } from './reverse-routing.js';
import { reverseBehindSlot, reverseSlotMissing } from './slot-missing.js';
import { ReverseRegistry, ReverseState, type ReverseRegistration } from './state.js';

/**
 * Runs the reverse stream of every registered cut-over service (or of `services`), next to the
 * forward stream, until stopped (docs/reverse.md):
 *
 *   const engine = await startReverseSync({ routing, signal, onEvent });
 *   …
 *   await engine.stop();
 *
 * The registrations on the monolith (prepareReverse) are read again every `pollMs`: a new one
 * starts streaming, a removed one (dropReverse) stops. Each stream is the sync engine's own
 * session (SyncSession) on a turned-around routing: the service database's slot is read, the
 * changes mapped back to the monolith's names and applied there by a TargetApplier — with
 * session_replication_role = replica (the cutover freeze trigger does not fire), under carve's
 * reverse replication origin of the service database, and with the position in reverse_positions
 * in the same transaction as the rows. The slot is acknowledged with that durable position only,
 * so a kill -9 anywhere replays from it (idempotent upserts and deletes by key).
 *
 * Loop prevention both ways: this stream skips what carve's forward applier wrote into the
 * service database (its origin), and the forward stream skips, for the service's database only,
 * what this stream wrote into the monolith (see SessionContext.skipOrigin).
 */
export class ReverseEngine {
  readonly done: Promise<ReverseResult>;
  private resolveDone!: (result: ReverseResult) => void;
  private rejectDone!: (error: unknown) => void;
  private readonly emit: (event: ReverseEvent) => void;
  private readonly registry: ReverseRegistry;
  private readonly streams = new Map<string, ReverseStream>();
  private readonly finished = new Map<string, string>();
  private monolith: Client | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private ended = false;
  private polling = false;
  private lagging = false;

  constructor(private readonly options: ReverseSyncOptions) {
    const listener = options.onEvent;
    this.emit = listener ? (event) => listener(event) : () => {};
    this.registry = new ReverseRegistry(options.routing.names.stateSchema, options.routing.names.migration);
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
  }

  /** Read the registrations once and start their streams; then keep watching until stopped. */
  async start(): Promise<void> {
    // Only prepareReverse creates carve's schema on the monolith: a sync with no cut-over service
    // needs no more rights there than before (list() finds no table, hence no stream).
    await this.connection();
    await this.poll();
    this.options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.timers.push(setInterval(() => void this.poll(), this.options.pollMs ?? 1000));
    this.timers.push(setInterval(() => void this.lagTick(), this.options.lagIntervalMs ?? 1000));
  }

  /** Stop every stream (an open monolith transaction is rolled back and replayed next time). */
  async stop(): Promise<ReverseResult> {
    await this.finish();
    return this.done;
  }

  /** The services whose reverse stream runs in this engine now. */
  get running(): string[] {
    return [...this.streams.keys()];
  }

  /** Per running stream: durable position and totals (the service database's WAL position as last read). */
  status(): ReverseLag[] {
    return [...this.streams.values()].map((s) => s.lag());
  }

  private async finish(error?: unknown): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    const streams = [...this.streams.values()];
    await Promise.all(streams.map((s) => s.stop()));
    for (const stream of streams) {
      this.finished.set(stream.service.name, formatLsn(stream.durable));
      this.emit({ type: 'reverse-stopped', service: stream.service.name, reason: 'stopped' });
    }
    this.streams.clear();
    await this.monolith?.end().catch(() => {});
    this.monolith = undefined;
    const result = {
      streams: [...this.finished].map(([service, appliedLsn]) => ({ service, appliedLsn })),
    };
    if (error === undefined) this.resolveDone(result);
    else this.rejectDone(error);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    try {
      let registrations: ReverseRegistration[];
      try {
        registrations = await this.registry.list(await this.connection());
      } catch (error) {
        await this.monolith?.end().catch(() => {});
        this.monolith = undefined;
        // The monolith unreachable for a moment: the streams retry on their own; look again later.
        // Anything else (no right to read carve's schema …) would hide every reverse stream: fail.
        if (!isTransientSyncError(error)) void this.finish(error);
        return;
      }
      const wanted = new Map<string, ReverseRegistration>();
      for (const registration of registrations) {
        const only = this.options.services;
        if (only && !only.includes(registration.service) && !only.includes(registration.database)) continue;
        if (!this.options.routing.services.some((s) => s.name === registration.service)) continue;
        wanted.set(registration.service, registration);
      }
      for (const [name, stream] of this.streams) {
        const registration = wanted.get(name);
        if (registration && registration.createdAt === stream.registration.createdAt) continue;
        // Dropped (or dropped and prepared again: a new slot, so a new stream).
        this.streams.delete(name);
        await stream.stop();
        this.finished.set(name, formatLsn(stream.durable));
        this.emit({ type: 'reverse-stopped', service: name, reason: 'unregistered' });
      }
      if (this.stopping) return;
      for (const [name, registration] of wanted) {
        if (this.streams.has(name)) continue;
        const service = this.options.routing.services.find((s) => s.name === name)!;
        const stream = new ReverseStream(this.options, service, registration, this.emit);
        this.streams.set(name, stream);
        stream.start().then(
          () => {},
          (error: unknown) => {
            if (this.streams.get(name) !== stream) return;
            this.emit({
              type: 'reverse-stopped',
              service: name,
              reason: 'failed',
              error: describeSyncError(error),
            });
            void this.finish(syncFailure(error));
          },
        );
      }
    } finally {
      this.polling = false;
    }
  }

  private async lagTick(): Promise<void> {
    if (this.lagging || this.streams.size === 0) return;
    this.lagging = true;
    try {
      await Promise.all([...this.streams.values()].map((s) => s.readServerLsn()));
      if (this.streams.size > 0) this.emit({ type: 'reverse-lag', streams: this.status() });
    } finally {
      this.lagging = false;
    }
  }

  private async connection(): Promise<Client> {
    this.monolith ??= await openSession(atMonolith(this.options.routing.sourceUrl), {
      applicationName: `${this.applicationName()} registrations`,
      connectTimeoutMs: 5000,
    });
    return this.monolith;
  }

  private applicationName(): string {
    return this.options.applicationName ?? `carve reverse (${this.options.routing.names.migration})`;
  }
}

/** One service's reverse stream: sessions one after another, reconnecting with backoff. */
class ReverseStream {
  durable: Lsn = 0n;
  commitTime: string | null = null;
  private serverLsn: Lsn | null = null;
  private session: SyncSession | undefined;
  private sessions = 0;
  private progress = 0;
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly strictUntil = new Map<string, Lsn>();
  private readonly extraColumns = new Map<string, Map<string, string>>();
  private control: SourceControl | undefined;
  private changes = 0;
  private transactions = 0;

  constructor(
    private readonly options: ReverseSyncOptions,
    readonly service: ServiceRoute,
    readonly registration: ReverseRegistration,
    private readonly emit: (event: ReverseEvent) => void,
  ) {}

  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.session?.stop();
    await this.running?.catch(() => {});
    await this.control?.close();
  }

  lag(): ReverseLag {
    const server = this.serverLsn;
    return {
      service: this.service.name,
      database: this.service.database,
      appliedLsn: formatLsn(this.durable),
      serverLsn: server === null ? null : formatLsn(server),
      lagBytes: server !== null && server > this.durable ? Number(server - this.durable) : 0,
      commitTime: this.commitTime,
      totalChanges: this.changes,
      totalTransactions: this.transactions,
    };
  }

  async readServerLsn(): Promise<void> {
    this.serverLsn = (await this.control?.currentWalLsn().catch(() => null)) ?? this.serverLsn;
  }

  private async loop(): Promise<void> {
    const initialMs = this.options.reconnect?.initialMs ?? 250;
    const maxMs = this.options.reconnect?.maxMs ?? 10_000;
    let attempt = 0;
    while (!this.stopping) {
      const progressBefore = this.progress;
      let session: SyncSession | undefined;
      try {
        const context = await this.context();
        session = new SyncSession(context, ++this.sessions);
        this.session = session;
        if (this.stopping) break;
        await session.run();
        if (!this.stopping)
          throw new CarveError('SYNC_STREAM_ENDED', 'The reverse replication stream ended', {
            transient: true,
          });
      } catch (error) {
        if (this.stopping) break;
        if (!this.retryable(error, session)) {
          // dropReverse removes the registration, then the slot once no walsender holds it — which
          // can happen while this stream waits to reconnect: then its end is no failure (the
          // engine's next poll sees the registration gone).
          if (!(await this.stillRegistered())) return;
          throw error;
        }
        if (this.progress > progressBefore) attempt = 0;
        attempt++;
        const delayMs = Math.round(
          Math.min(maxMs, initialMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4),
        );
        this.emit({
          type: 'reverse-reconnecting',
          service: this.service.name,
          attempt,
          delayMs,
          error: describeSyncError(error),
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async stillRegistered(): Promise<boolean> {
    const { routing } = this.options;
    const registry = new ReverseRegistry(routing.names.stateSchema, routing.names.migration);
    try {
      const now = await withSession(atMonolith(routing.sourceUrl), (client) =>
        registry.read(client, this.service.name),
      );
      return now !== undefined && now.createdAt === this.registration.createdAt;
    } catch {
      return true; // cannot tell: report the failure
    }
  }

  /** As the forward engine: transient failures reconnect, a unique violation retries once in strict order. */
  private retryable(error: unknown, session: SyncSession | undefined): boolean {
    if (isUniqueViolation(error) && session) {
      const applier = session.sinks.find((s) => s.name === error.sink);
      const until = this.strictUntil.get(error.sink);
      if (until !== undefined && applier && applier.durable < until) return false;
      this.strictUntil.set(error.sink, session.dispatcher?.lastCommitEnd ?? 0n);
      return true;
    }
    return isTransientSyncError(error);
  }

  /** A session's context, on the routing turned around (re-read each session: the catalog may have moved). */
  private async context(): Promise<SessionContext> {
    const { routing } = this.options;
    const migration = routing.names.migration;
    const reverse = await withSession(atService(this.service.adminUrl), async (client) => {
      // Else the stream's own check says to create the slot with carve copy: no way to get back
      // the changes the lost slot held.
      const { rows } = await client.query(
        'SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1',
        [this.registration.slot],
      );
      if (rows.length === 0) throw reverseSlotMissing(this.service, this.registration.slot);
      return reverseRouting(routing, this.service, this.registration, client);
    });
    const applicationName =
      this.options.applicationName ?? `carve reverse (${migration}, ${this.service.name})`;
    this.control ??= new SourceControl(this.service.adminUrl, `${applicationName} control`);
    const forwardOrigin = replicationOriginName(migration, 'fwd', this.service.database);
    return {
      routing: reverse,
      state: new ReverseState(routing.names.stateSchema, migration, this.service.name),
      control: this.control,
      batch: { ...DEFAULT_BATCH, ...this.options.batch },
      applicationName,
      holdPollMs: 200,
      positionFlushMs: this.options.positionFlushMs ?? 1000,
      guardIntervalMs: 10_000,
      recordLatency: false,
      extraColumns: this.extraColumns,
      strictUntil: this.strictUntil,
      sinkFactories: [],
      appliers: true,
      apiHold: () => null,
      onStarted: (session) => {
        const sink = session.sinks[0]!;
        this.durable = sink.durable;
        this.commitTime = sink.durableCommitTime;
        this.emit({
          type: 'reverse-started',
          service: this.service.name,
          database: this.service.database,
          slot: this.registration.slot,
          resumeLsn: formatLsn(session.stream!.resumeLsn),
        });
      },
      onCommitted: (session, sink, info) => {
        this.progress++;
        this.durable = sink.durable;
        this.commitTime = sink.durableCommitTime;
        this.changes += info.changes;
        this.transactions += info.transactions;
        session.acknowledge();
        if (info.transactions > 0 || info.changes > 0) {
          this.emit({
            type: 'reverse-applied',
            service: this.service.name,
            database: this.service.database,
            appliedLsn: formatLsn(info.position),
            transactions: info.transactions,
            changes: info.changes,
          });
        }
      },
      onHold: () => {},
      onAddedColumn: () => {},
      onAddedPartition: () => {},
      applierOrigin: () => replicationOriginName(migration, 'rev', this.service.database),
      // The monolith is the one target: behind the slot means its position went back (slot-missing.ts).
      behindSlot: (behind, slotLsn) =>
        reverseBehindSlot(this.service, this.registration.slot, behind[0]!.applied, slotLsn),
      // The target is the monolith: its triggers and functions are the operator's own, not code a
      // service role could plant (docs/security.md).
      guardTargets: false,
      // What carve's forward applier wrote into the service database came from the monolith.
      skipOrigin: (origin) => origin.name === forwardOrigin,
    };
  }
}

/** Start a ReverseEngine (reads the registrations, starts their streams) and return it. */
export async function startReverseSync(options: ReverseSyncOptions): Promise<ReverseEngine> {
  const engine = new ReverseEngine(options);
  await engine.start();
  return engine;
}
