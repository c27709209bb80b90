import { CarveError, errorText, isCarveError } from '../errors.js';
import { atService, openSession, withSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { unixMicrosToPgTimestamp, type PgTimestamp } from '../pg/replication/pg-time.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import type { ApplyItem } from '../sync/apply-queue.js';
import { isTransientSyncError } from '../sync/errors.js';
import { DEFAULT_BATCH, type BatchSettings } from '../sync/options.js';
import { checkSyncPreconditions } from '../sync/preflight.js';
import { QueueBudget } from '../sync/queue-budget.js';
import { replicationOriginName } from '../sync/replication-origin.js';
import { SinkFailure, type SinkContext } from '../sync/sink.js';
import { SourceControl } from '../sync/source-control.js';
import { sourceSessionUrl } from '../sync/source-session.js';
import { SyncState } from '../sync/state.js';
import { TargetApplier } from '../sync/target-applier.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { ApplyOffsets } from './apply-offsets.js';
import { Header } from './change-messages.js';
import { decodeCheckpoint } from './checkpoint.js';
import { EventItems } from './event-items.js';
import { brokerError } from './kafka-sink.js';
import { KafkaLog } from './kafka-log.js';
import { mergeInSourceOrder, PartitionCursor, type OrderedRecord } from './topic-cursor.js';

export interface KafkaApplyOptions {
  routing: Routing;
  /** The service whose database this process applies to. */
  service: string;
  /** Stop once everything the publisher had committed to Kafka at start is applied. */
  untilCaughtUp?: boolean;
  onEvent?: (event: ApplyEvent) => void;
  signal?: AbortSignal;
  batch?: Partial<BatchSettings>;
  /** Name of the publishing sink (its checkpoints' key), default 'kafka'. */
  publisher?: string;
  /** How often to look for new checkpoints when caught up (default 100 ms). */
  pollMs?: number;
  applicationName?: string;
}

export type ApplyEvent =
  | { type: 'apply-started'; service: string; database: string; topics: string[] }
  | { type: 'standby'; database: string }
  | { type: 'session-started'; session: number; database: string; position: string; checkpointOffset: string }
  | { type: 'batch-applied'; database: string; position: string; transactions: number; changes: number }
  | { type: 'caught-up'; database: string; lsn: string }
  | { type: 'reconnecting'; attempt: number; delayMs: number; error: { code: string; message: string } }
  | { type: 'apply-stopped'; reason: 'caught-up' | 'stopped' | 'failed'; database: string; position: string };

export interface ApplyResult {
  reason: 'caught-up' | 'stopped';
  position: string;
}

/**
 * `carve apply --from kafka --service S`: the service database's share of the change topics,
 * applied by the same applier as `carve sync` (TargetApplier: batching, collapsing, idempotent
 * statements, holds, the position in the same transaction as the rows).
 *
 * The publisher's checkpoints (carve's checkpoint topic, one per Kafka transaction) are read in
 * order; each names the offset ranges its transaction wrote, so only committed events are read,
 * and its position says everything before it is published. For each checkpoint the ranges of this
 * service's topics are merged back into source order (commit LSN, position in the transaction),
 * turned into the stream's items and handed to the applier, then the position advances to the
 * checkpoint's. The next checkpoint offset is stored in the service database in the same
 * transaction as the rows (ApplyOffsets). One process per service database applies at a time
 * (an advisory lock there); others wait as standbys and take over when it goes away.
 */
export async function applyFromKafka(options: KafkaApplyOptions): Promise<ApplyResult> {
  const { routing } = options;
  const emit = (event: ApplyEvent) => options.onEvent?.(event);
  const service = routing.services.find((s) => s.name === options.service);
  if (!service) {
    throw new CarveError('APPLY_UNKNOWN_SERVICE', `The plan has no service ${options.service}`, {
      details: { service: options.service, services: routing.services.map((s) => s.name) },
      hint: `Use one of: ${routing.services.map((s) => s.name).join(', ')}.`,
    });
  }
  const events = routing.events;
  if (!events?.kafka) {
    throw new CarveError('APPLY_NO_EVENTS', 'The plan has no events.kafka section to apply from', {
      details: {},
      hint: 'Add events: { kafka: { brokers, topic_prefix } } to the plan, and publish with carve sync.',
    });
  }
  const local = serviceRouting(routing, service);
  await checkSyncPreconditions(local);
  const topics = local
    .events!.tables.filter((t) =>
      local.routes.some((r) => r.source.schema === t.source.schema && r.source.name === t.source.name),
    )
    .map((t) => t.topic);
  emit({ type: 'apply-started', service: service.name, database: service.database, topics });

  const state = new SyncState(routing.names.stateSchema, routing.names.migration);
  const offsets = new ApplyOffsets(routing.names.stateSchema, routing.names.migration);
  await withSession(atService(service.url), (client) => ensureStateSchema(client, routing.names.stateSchema));
  const lock = await takeApplyLock(service, routing.names.migration, options.signal, () =>
    emit({ type: 'standby', database: service.database }),
  );
  let position = '';
  try {
    if (options.signal?.aborted) return { reason: 'stopped', position };
    let target: Lsn | null = null;
    if (options.untilCaughtUp)
      target = await lastPublished(events.kafka, events.checkpointTopic, options.publisher ?? 'kafka');
    for (let attempt = 0, session = 1; ; session++) {
      const run = new ApplySession(options, local, service, state, offsets, topics, target, session, emit);
      try {
        const result = await run.run();
        position = result.position;
        emit({ type: 'apply-stopped', reason: result.reason, database: service.database, position });
        return result;
      } catch (error) {
        position = run.position;
        const transient =
          isTransientSyncError(error) || (error instanceof SinkFailure && isTransientSyncError(error.cause));
        if (!transient || options.signal?.aborted) {
          emit({ type: 'apply-stopped', reason: 'failed', database: service.database, position });
          throw error instanceof SinkFailure ? error.cause : error;
        }
        attempt++;
        const delayMs = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
        emit({
          type: 'reconnecting',
          attempt,
          delayMs: Math.round(delayMs),
          error: { code: isCarveError(error) ? error.code : 'ERROR', message: errorText(error) },
        });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (options.signal?.aborted) return { reason: 'stopped', position };
      }
    }
  } finally {
    await lock.release();
  }
}

/** One attempt: an applier and a reader, until stopped, caught up, or the first error. */
class ApplySession {
  position = '';
  private readonly log: KafkaLog;
  private readonly applier: TargetApplier;
  private readonly items: EventItems;
  /** Checkpoints handed to the applier in full: their position and the next checkpoint offset. */
  private handed: { lsn: Lsn; next: bigint }[] = [];
  private feeding = false;
  private stopping = false;
  private readonly batch: BatchSettings;
  private readonly control: SourceControl;
  private heartbeatAt = 0;

  constructor(
    private readonly options: KafkaApplyOptions,
    private readonly routing: Routing,
    private readonly service: ServiceRoute,
    private readonly state: SyncState,
    private readonly offsets: ApplyOffsets,
    private readonly topics: string[],
    private readonly target: Lsn | null,
    private readonly number: number,
    private readonly emit: (event: ApplyEvent) => void,
  ) {
    const kafka = routing.events!.kafka!;
    this.log = new KafkaLog({ brokers: kafka.brokers, clientId: `${kafka.clientId}-apply-${service.name}` });
    this.items = new EventItems(routing);
    this.control = new SourceControl(sourceSessionUrl(routing.sourceUrl), `carve apply ${service.name}`);
    this.batch = { ...DEFAULT_BATCH, ...options.batch };
    const context: SinkContext = {
      routing,
      batch: this.batch,
      queueBudget: new QueueBudget(this.batch.queueBytes),
      applicationName: options.applicationName ?? `carve apply ${service.name}`,
      holdPollMs: 200,
      positionFlushMs: 1000,
      recordLatency: false,
      moreComing: () => this.feeding,
      onCommitted: (_sink, info) => {
        this.position = formatLsn(info.position);
        if (info.transactions > 0 || info.changes > 0) {
          this.emit({
            type: 'batch-applied',
            database: service.database,
            position: this.position,
            transactions: info.transactions,
            changes: info.changes,
          });
        }
      },
      onHold: () => {},
    };
    this.applier = new TargetApplier(context, {
      service,
      state,
      sourceUrl: routing.sourceUrl,
      origin: replicationOriginName(routing.names.migration, 'fwd', service.database),
      strictUntil: 0n,
      guardIntervalMs: 10_000,
      onAddedColumn: () => {},
      onAddedPartition: () => {},
      positionWrites: (client, position) => this.writeOffsets(client, position),
    });
  }

  /**
   * Columns added on the monolith since the service database was provisioned, which this run's
   * plan (read at start) routes: added to the target before the first change of the session, as
   * carve sync's dispatcher does (idempotent: a present column is left alone). Events published
   * before the addition do not carry them; the target gives those rows the column's default.
   */
  private async addedColumns(): Promise<ApplyItem[]> {
    const items: ApplyItem[] = [];
    for (const route of this.routing.routes) {
      if (!route.allColumns) continue;
      const current = await this.control.tableColumns(route.source);
      for (const column of route.columns) {
        const now = current.get(column.source);
        if (column.generated || !now || route.key.includes(column.source)) continue;
        if (now.generated || now.identity || (now.hasDefault && now.missingLiteral === null)) continue;
        items.push({
          kind: 'add-column',
          table: route.target,
          column: column.target,
          type: now.type,
          defaultLiteral: now.missingLiteral,
        });
      }
    }
    return items;
  }

  /** add-column items not yet handed to the applier this session (see addedColumns). */
  private columnsToAdd: ApplyItem[] | undefined;

  async run(): Promise<ApplyResult> {
    const abort = () => void this.stop();
    this.options.signal?.addEventListener('abort', abort);
    try {
      await this.applier.open().catch((error: unknown) => {
        throw new SinkFailure(this.applier.name, 'applier', error);
      });
      this.position = formatLsn(this.applier.durable);
      this.columnsToAdd = await this.addedColumns();
      const from =
        (await withSession(atService(this.service.url), (c) => this.offsets.read(c, this.checkpointTopic))) ??
        0n;
      this.emit({
        type: 'session-started',
        session: this.number,
        database: this.service.database,
        position: this.position,
        checkpointOffset: String(from),
      });
      const applying = this.applier.run().catch((error: unknown) => {
        throw new SinkFailure(this.applier.name, 'applier', error);
      });
      const reading = this.read(from);
      // Whichever settles second is past caring: no unhandled rejection from it.
      applying.catch(() => {});
      reading.catch(() => {});
      const result = await Promise.race([applying.then(() => 'stopped' as const), reading]);
      return { reason: result, position: formatLsn(this.applier.durable) };
    } finally {
      this.options.signal?.removeEventListener('abort', abort);
      this.stopping = true;
      await this.applier.stop();
      await this.log.close();
      await this.control.close();
    }
  }

  private get checkpointTopic(): string {
    return this.routing.events!.checkpointTopic;
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    this.applier.nudge();
  }

  /** Feed the applier checkpoint by checkpoint; resolves 'caught-up' or 'stopped'. */
  private async read(from: bigint): Promise<'caught-up' | 'stopped'> {
    const publisher = this.options.publisher ?? 'kafka';
    let next = from;
    for (;;) {
      if (this.stopping) return 'stopped';
      if (this.target !== null && this.applier.durable >= this.target) {
        this.emit({ type: 'caught-up', database: this.service.database, lsn: formatLsn(this.target) });
        return 'caught-up';
      }
      let end: bigint;
      let batch: Awaited<ReturnType<KafkaLog['readCommitted']>>;
      try {
        end = await this.log.endOffset(this.checkpointTopic, 0);
        batch =
          next < end
            ? await this.log.readCommitted(this.checkpointTopic, 0, next, end)
            : { records: [], next, undecided: [] };
      } catch (error) {
        throw brokerError(this.routing.events!.kafka!.brokers, error);
      }
      for (const record of batch.records) {
        if (this.stopping) return 'stopped';
        if (record.key?.toString() !== publisher || !record.value) continue;
        const checkpoint = decodeCheckpoint(record.value);
        if (checkpoint.lsn > this.applier.skipBelow) {
          try {
            await this.feed(checkpoint.ranges, checkpoint.lsn);
          } catch (error) {
            throw isCarveError(error) ? error : brokerError(this.routing.events!.kafka!.brokers, error);
          }
        }
        this.handed.push({ lsn: checkpoint.lsn, next: record.offset + 1n });
        if (this.handed.length > 10_000) this.handed.splice(0, 5_000);
      }
      next = batch.next;
      if (batch.records.length === 0) {
        await this.heartbeatForHold();
        this.applier.expeditePosition();
        await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 100));
      }
    }
  }

  /**
   * A hold (verify, cutover) waits for a position the publisher may not report while the monolith
   * is idle: write carve's heartbeat there (at most once a second), as carve sync does for its own
   * holds, so the publisher's next checkpoint moves past it.
   */
  private async heartbeatForHold(): Promise<void> {
    const hold = this.applier.holds.lowest();
    if (hold === undefined || this.applier.position >= hold || Date.now() - this.heartbeatAt < 1000) return;
    this.heartbeatAt = Date.now();
    await this.control.emitHeartbeat().catch(() => {});
  }

  /** The ranges of one checkpoint, merged into source order, as begin/changes/commit items. */
  private async feed(ranges: Map<string, Map<number, [bigint, bigint]>>, upTo: Lsn): Promise<void> {
    const cursors: PartitionCursor[] = [];
    for (const topic of this.topics) {
      for (const [partition, [start, end]] of ranges.get(topic) ?? []) {
        cursors.push(new PartitionCursor(this.log, topic, partition, start, end));
      }
    }
    const skipBelow = this.applier.skipBelow;
    let txn: { lsn: Lsn; commitTime: PgTimestamp } | null = null;
    let truncated = '';
    const out: ApplyItem[] = [];
    this.feeding = true;
    try {
      for await (const event of mergeInSourceOrder(cursors)) {
        if (this.stopping) return;
        if (event.lsn < skipBelow) continue; // applied by an earlier session (the restart rule)
        if (!txn || event.lsn !== txn.lsn) {
          // A transaction of this database ends where the next one (for it) begins: every source
          // transaction committing before that is in, so that is a valid resume-from position.
          if (txn)
            await this.push({
              kind: 'commit',
              commitLsn: txn.lsn,
              endLsn: event.lsn,
              commitTime: txn.commitTime,
            });
          txn = { lsn: event.lsn, commitTime: commitTimeOf(event) };
          const xid = Number(event.record.headers.get(Header.xid) ?? 0);
          await this.push({
            kind: 'begin',
            xid,
            commitLsn: event.lsn,
            commitTime: txn.commitTime,
            origin: null,
          });
          for (const item of this.columnsToAdd?.splice(0) ?? []) await this.push(item);
        }
        if (event.record.headers.get(Header.kind) === 'truncate') {
          const statement = `${event.lsn}:${event.seq}`;
          if (statement === truncated) continue; // one item for every table of the statement
          truncated = statement;
          const item = this.items.truncate(event);
          if (item) await this.push(item);
          continue;
        }
        out.length = 0;
        this.items.changes(event, out);
        for (const item of out) await this.push(item);
      }
      if (txn)
        await this.push({ kind: 'commit', commitLsn: txn.lsn, endLsn: upTo, commitTime: txn.commitTime });
      await this.push({ kind: 'advance', upTo });
    } finally {
      this.feeding = false;
    }
  }

  private async push(item: ApplyItem): Promise<void> {
    const queue = this.applier.queue;
    queue.push(item);
    if (queue.full) await queue.waitForSpace();
  }

  /** In the applier's transaction: the checkpoint offset matching the position being written. */
  private async writeOffsets(client: Client, position: Lsn): Promise<void> {
    let next: bigint | undefined;
    for (const handed of this.handed) if (handed.lsn <= position) next = handed.next;
    if (next !== undefined) await this.offsets.write(client, this.checkpointTopic, next);
  }
}

function commitTimeOf(event: OrderedRecord): PgTimestamp {
  return unixMicrosToPgTimestamp(BigInt(event.record.headers.get(Header.commitTime) ?? '0'));
}

/**
 * `carve sync --sink kafka-only` (or events-only with Kafka) applies no service database itself:
 * each one must be appliable by `carve apply` from the events, or its changes would be
 * acknowledged on the slot and never reach it. Throws what `carve apply` would for the first that
 * is not.
 */
export function checkAppliableFromKafka(routing: Routing): void {
  for (const service of routing.services) serviceRouting(routing, service);
}

/** The plan's routing restricted to one service database (its owned tables and projections). */
function serviceRouting(routing: Routing, service: ServiceRoute): Routing {
  const routes = routing.routes.filter((r) => r.database === service.database);
  const events = routing.events!;
  for (const route of routes) {
    const table = events.tables.find(
      (t) => t.source.schema === route.source.schema && t.source.name === route.source.name,
    );
    const name = `${route.source.schema}.${route.source.name}`;
    if (!table) {
      throw new CarveError(
        'APPLY_TABLE_NOT_PUBLISHED',
        `${name} feeds ${service.database} but is not published`,
        {
          details: { table: name, database: service.database },
          hint: `Add ${route.source.name} to events.tables in the plan (or remove events.tables to publish every table), then run carve sync and carve apply with that plan.`,
        },
      );
    }
    const missing = route.columns
      .filter((c) => !c.generated && !table.columns.includes(c.source))
      .map((c) => c.source);
    if (missing.length > 0) {
      throw new CarveError(
        'APPLY_COLUMN_NOT_PUBLISHED',
        `Columns ${missing.join(', ')} of ${name} reach ${service.database} but are not published`,
        {
          details: { table: name, database: service.database, columns: missing },
          hint: `The owner of ${name} drops them (plan drop:), so its events do not carry them and a projection cannot take them from there. Apply ${service.name} in process instead: carve sync without --sink (it applies every service database itself).`,
        },
      );
    }
  }
  return { ...routing, services: [service], routes };
}

/** The position of the last checkpoint committed by the publisher. */
async function lastPublished(
  kafka: NonNullable<NonNullable<Routing['events']>['kafka']>,
  topic: string,
  publisher: string,
): Promise<Lsn> {
  const log = new KafkaLog({ brokers: kafka.brokers, clientId: `${kafka.clientId}-apply` });
  try {
    const last = await log.lastCommitted(topic, 0, publisher);
    return last?.value ? decodeCheckpoint(last.value).lsn : 0n;
  } catch (error) {
    throw brokerError(kafka.brokers, error);
  } finally {
    await log.close();
  }
}

/**
 * One applying process per service database: a session advisory lock in that database. A second
 * process waits (standby) and takes over when the first one goes away (its session ends).
 */
async function takeApplyLock(
  service: ServiceRoute,
  migration: string,
  signal: AbortSignal | undefined,
  onStandby: () => void,
): Promise<{ release(): Promise<void> }> {
  const client = await openSession(atService(service.url), {
    applicationName: `carve apply lock ${service.name}`,
  });
  const key = `carve apply ${migration} ${service.database}`;
  let announced = false;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>(
      'SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0)) AS ok',
      [key],
    );
    if (rows[0]!.ok) break;
    if (!announced) {
      onStandby();
      announced = true;
    }
    if (signal?.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    async release() {
      await client.end().catch(() => {});
    },
  };
}
