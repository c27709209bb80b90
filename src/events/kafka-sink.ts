import type { Producer } from '@platformatic/kafka';
import { CarveError, isCarveError } from '../errors.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { pgTimestampToIso, type PgTimestamp } from '../pg/replication/pg-time.js';
import type { EventRouting, TableRoute } from '../routing/model.js';
import { BatchingSink, type DurablePosition } from '../sync/batching-sink.js';
import type { SinkContext, SinkFactory, SinkItem } from '../sync/sink.js';
import { ChangeMessages, Header, type OutgoingMessage } from './change-messages.js';
import { resumeFromCheckpoint } from './behind-slot.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { loadKafka } from './kafka-client.js';
import { KafkaLog, partitionOf } from './kafka-log.js';
import { readPublishContext, rereadColumnTypes } from './publish-context.js';

export interface KafkaSinkOptions {
  events: EventRouting;
  /** Sink name (unique among sinks; also the key of its checkpoints). */
  name?: string;
  /** `source.version` of the events. */
  version: string;
  /** Bytes of messages sent to the broker at once (below the broker's message.max.bytes). */
  sendBytes?: number;
}

/** What the sink publishes about itself on the engine's events (bytes, messages, Kafka commits). */
export interface KafkaSinkTotals {
  messages: number;
  bytes: number;
  kafkaTransactions: number;
}

/**
 * Publishes the change events of the plan's `events.tables` to Kafka, exactly once.
 *
 * Each destination batch (many source transactions, cut at a source commit boundary) is one Kafka
 * transaction of a transactional producer whose id is fixed per migration and sink: the change
 * events, then a checkpoint record on carve's checkpoint topic holding the position
 * (resume-from LSN) and the offset ranges the batch wrote. open() first initialises the producer,
 * which fences any earlier incarnation and aborts its open transaction, then reads the last
 * committed checkpoint: everything before its position is in the topics once, nothing after it.
 * So kill -9 at any instant loses nothing and duplicates nothing for read_committed consumers, and
 * the slot is acknowledged only up to what is committed (BatchingSink reports it durable then).
 * A broker outage fails the session; the engine retries from the durable positions.
 */
export class KafkaSink extends BatchingSink {
  readonly name: string;
  readonly kind = 'kafka';
  readonly published: KafkaSinkTotals = { messages: 0, bytes: 0, kafkaTransactions: 0 };

  private log: KafkaLog | undefined;
  private producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private txn: Awaited<ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>['beginTransaction']>> | undefined;
  private readonly headerBytes = new HeaderBytes();
  private messages: ChangeMessages | undefined;
  private partitions = new Map<string, number>();
  private pending: OutgoingMessage[] = [];
  private pendingBytes = 0;
  private ranges = new Map<string, Map<number, [bigint, bigint]>>();
  private inflight: Promise<void> = Promise.resolve();
  private readonly sendBytes: number;
  private readonly kafka: NonNullable<EventRouting['kafka']>;

  constructor(
    context: SinkContext,
    private readonly options: KafkaSinkOptions,
  ) {
    super(context);
    this.name = options.name ?? 'kafka';
    this.sendBytes = options.sendBytes ?? 768 * 1024;
    if (!options.events.kafka) throw new Error('KafkaSink needs events.kafka');
    this.kafka = options.events.kafka;
  }

  accepts(route: TableRoute): boolean {
    return route.kind === 'owned' && this.options.events.tables.some((t) => t.routeId === route.id);
  }

  get transactionalId(): string {
    return `carve-${this.context.routing.names.migration}-${this.name}`;
  }

  protected async connect(): Promise<DurablePosition> {
    const events = this.options.events;
    const routing = this.context.routing;
    this.log = new KafkaLog({ brokers: this.kafka.brokers, clientId: this.kafka.clientId });
    try {
      await this.log.ensureTopics([
        ...events.tables.map((t) => ({
          topic: t.topic,
          partitions: this.kafka.partitions,
          replicationFactor: this.kafka.replicationFactor,
        })),
        {
          topic: events.checkpointTopic,
          partitions: 1,
          replicationFactor: this.kafka.replicationFactor,
        },
      ]);
      this.partitions = await this.log.partitionCounts(events.tables.map((t) => t.topic));
    } catch (error) {
      // A refused topic (EVENTS_TOPIC_CREATE) is not an outage: retrying cannot create it.
      throw brokerError(this.kafka.brokers, error);
    }
    const { types, database, slotPosition } = await readPublishContext(routing, events);
    this.messages = new ChangeMessages(events, database, this.options.version, types);
    const { Producer } = await loadKafka();
    this.producer = new Producer({
      clientId: this.kafka.clientId,
      bootstrapBrokers: this.kafka.brokers,
      transactionalId: this.transactionalId,
      idempotent: true,
      // A new incarnation: InitProducerId with -1/-1 gets the id and a bumped epoch whatever the
      // previous one had (the client's default 0/0 names producer 0 and is refused as fenced).
      producerId: -1n,
      producerEpoch: -1,
      acks: -1,
      // Also the transaction timeout the coordinator enforces: long enough for a huge source transaction.
      timeout: 120_000,
      retries: 5,
      retryDelay: 50,
      // Headers go as Buffers (HeaderBytes): no per-header string serialisation in the client.
    });
    let checkpoint: Checkpoint | undefined;
    try {
      // Initialising the transactional producer fences an earlier incarnation (kill -9, a zombie)
      // and aborts its open transaction before the checkpoint is read.
      this.txn = await this.producer.beginTransaction();
      const last = await this.log.lastCommitted(events.checkpointTopic, 0, this.name);
      if (last?.value) checkpoint = decodeCheckpoint(last.value);
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
    // A checkpoint behind the slot means a gap in the topics (behind-slot.ts): refused.
    return resumeFromCheckpoint(routing, this.name, events.checkpointTopic, checkpoint, slotPosition);
  }

  protected async disconnect(): Promise<void> {
    this.txn = undefined;
    this.pending = [];
    this.inflight = Promise.resolve();
    await Promise.resolve(this.producer?.close(true)).catch(() => {});
    await this.log?.close();
  }

  protected async beginBatch(): Promise<void> {
    this.inflight = Promise.resolve();
    try {
      if (!this.txn || this.txn.completed) this.txn = await this.producer!.beginTransaction();
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
    this.ranges = new Map();
  }

  protected deliver(item: SinkItem): Promise<void> | void {
    const before = this.pending.length;
    if (item.kind === 'upsert' || item.kind === 'patch' || item.kind === 'delete' || item.kind === 'move') {
      if (this.messages!.missingTypes(item.plan).length > 0) return this.learnTypes(item);
    }
    this.messages!.messages(item, this.pending);
    for (let i = before; i < this.pending.length; i++) {
      const m = this.pending[i]!;
      this.pendingBytes += (m.value?.length ?? 0) + (m.key?.length ?? 0) + 128;
    }
    if (this.pendingBytes >= this.sendBytes) return this.guard(this.flush());
  }

  private async guard(io: Promise<void>): Promise<void> {
    try {
      await io;
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
  }

  /** A column added on the monolith (schema_changes: add_nullable_columns): read its type first. */
  private async learnTypes(item: SinkItem): Promise<void> {
    const types = await rereadColumnTypes(this.context.routing, this.options.events);
    this.messages!.addTypes(types);
    const io = this.deliver(item);
    if (io) await io;
  }

  protected async commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    await this.guard(
      (async () => {
        await this.flush(true);
        await this.sendCheckpoint(position, commitTime);
        await this.txn!.commit();
      })(),
    );
    this.txn = undefined;
    this.published.kafkaTransactions++;
  }

  protected async writePosition(position: Lsn): Promise<void> {
    await this.guard(
      (async () => {
        if (!this.txn || this.txn.completed) this.txn = await this.producer!.beginTransaction();
        this.ranges = new Map();
        await this.sendCheckpoint(position, null);
        await this.txn.commit();
      })(),
    );
    this.txn = undefined;
    this.published.kafkaTransactions++;
  }

  private async sendCheckpoint(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    const checkpoint: Checkpoint = {
      lsn: position,
      commitTime: commitTime === null ? (this.durableCommitTime ?? null) : pgTimestampToIso(commitTime),
      ranges: this.ranges,
    };
    await this.txn!.send({
      messages: [
        {
          topic: this.options.events.checkpointTopic,
          partition: 0,
          key: Buffer.from(this.name),
          value: encodeCheckpoint(checkpoint),
          headers: new Map([[Buffer.from(Header.lsn), Buffer.from(formatLsn(position))]]),
        },
      ],
    });
  }

  /**
   * Send what is pending, in chunks below the broker's message size per partition, recording the
   * offset ranges. One send is in flight while the next events are encoded (not two: the records
   * of a partition must reach the broker in order); `wait` also waits for the last one.
   */
  private async flush(wait = false): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let start = 0;
    while (start < pending.length) {
      const perPartition = new Map<string, number>();
      let bytes = 0;
      let end = start;
      const messages: {
        topic: string;
        partition: number;
        key?: Buffer;
        value?: Buffer;
        headers: Map<Buffer, Buffer>;
      }[] = [];
      while (end < pending.length) {
        const m = pending[end]!;
        const partition = m.key ? partitionOf(m.key, this.partitions.get(m.topic) ?? 1) : 0;
        const at = `${m.topic}\u0000${partition}`;
        const size = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 128;
        const used = perPartition.get(at) ?? 0;
        // A record batch per partition stays below the broker's message.max.bytes (1 MiB default).
        if (used > 0 && used + size > this.sendBytes) break;
        perPartition.set(at, used + size);
        bytes += size;
        // A missing key or value (a truncate's key, a tombstone's value) is undefined: a null record field.
        messages.push({
          topic: m.topic,
          partition,
          key: m.key ?? undefined,
          value: m.value ?? undefined,
          headers: this.headerBytes.of(m.headers),
        });
        end++;
      }
      await this.inflight;
      this.inflight = this.send(messages, bytes);
      // Observed by the next flush (or commit); never an unhandled rejection meanwhile.
      this.inflight.catch(() => {});
      start = end;
    }
    if (wait) await this.inflight;
  }

  private async send(
    messages: {
      topic: string;
      partition: number;
      key?: Buffer;
      value?: Buffer;
      headers: Map<Buffer, Buffer>;
    }[],
    bytes: number,
  ): Promise<void> {
    const counts = new Map<string, number>();
    for (const m of messages) {
      const at = `${m.topic}\u0000${m.partition}`;
      counts.set(at, (counts.get(at) ?? 0) + 1);
    }
    const result = await this.txn!.send({ messages });
    for (const { topic, partition, offset } of result.offsets ?? []) {
      const count = BigInt(counts.get(`${topic}\u0000${partition}`) ?? 0);
      const byPartition = this.ranges.get(topic) ?? new Map<number, [bigint, bigint]>();
      const range = byPartition.get(partition);
      byPartition.set(partition, range ? [range[0], offset + count] : [offset, offset + count]);
      this.ranges.set(topic, byPartition);
    }
    this.published.messages += messages.length;
    this.published.bytes += bytes;
  }
}

/**
 * carve's headers as the Buffers Kafka records carry. The names are a handful of constants and
 * most values repeat from one event to the next (the transaction's LSN, xid and commit time, the
 * kind): both are encoded once and shared instead of two Buffers per header per event.
 */
class HeaderBytes {
  private readonly slots = new Map<string, { name: Buffer; text: string; bytes: Buffer }>();

  of(headers: Record<string, string>): Map<Buffer, Buffer> {
    const out = new Map<Buffer, Buffer>();
    for (const name in headers) {
      const text = headers[name]!;
      let slot = this.slots.get(name);
      if (!slot) {
        slot = { name: Buffer.from(name), text: '', bytes: Buffer.alloc(0) };
        this.slots.set(name, slot);
      }
      if (slot.text === text) out.set(slot.name, slot.bytes);
      else {
        const bytes = Buffer.from(text);
        // Only short values recur (row and key headers are unique per event): keep those.
        if (text.length <= 32) {
          slot.text = text;
          slot.bytes = bytes;
        }
        out.set(slot.name, bytes);
      }
    }
    return out;
  }
}

/**
 * A broker error as carve reports it: fenced by another publisher of the same migration (a second
 * carve sync) stops sync; anything else is transient (the engine retries from the durable
 * positions, the slot holds the WAL meanwhile).
 */
export function brokerError(brokers: string[], cause: unknown): CarveError {
  if (isCarveError(cause)) return cause;
  // The broker's names for a newer incarnation of the transactional id, only: FENCED_LEADER_EPOCH
  // and the like are metadata going stale (a broker restart), which a reconnect fixes.
  if (/\b(PRODUCER_FENCED|INVALID_PRODUCER_EPOCH)\b/.test(errorChain(cause))) {
    return new CarveError('EVENTS_PRODUCER_FENCED', 'Another carve publishes the events of this migration', {
      details: { brokers },
      hint: "Another carve publishes with this migration's transactional id (carve-<name>-<sink>): a second carve sync of it, or of another migration of the same name on these brokers. Stop the other one and run carve sync again; give migrations that share a Kafka different names.",
      cause,
    });
  }
  return brokerUnavailable(brokers, cause);
}

/** The messages, client codes and broker error names of an error and the errors it wraps. */
export function errorChain(error: unknown): string {
  const parts: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (depth > 4 || e === null || e === undefined) return;
    if (e instanceof Error) {
      // The client's protocol errors carry the broker's error name as apiId (its code is the
      // client's own, PLT_KFK_PROTOCOL): PRODUCER_FENCED, INVALID_PRODUCER_EPOCH.
      const { code, apiId } = e as { code?: unknown; apiId?: unknown };
      parts.push(e.message, String(code ?? ''), String(apiId ?? ''));
      for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner, depth + 1);
      visit((e as { cause?: unknown }).cause, depth + 1);
    } else parts.push(String(e));
  };
  visit(error, 0);
  return parts.join(' ');
}

function brokerUnavailable(brokers: string[], cause: unknown): CarveError {
  return new CarveError(
    'EVENTS_BROKER_UNAVAILABLE',
    `Kafka at ${brokers.join(', ')} did not answer: ${cause instanceof Error ? cause.message : String(cause)}`,
    {
      details: { brokers },
      transient: true,
      hint: 'Check that the brokers in events.kafka.brokers are up and reachable; carve retries and holds the slot meanwhile.',
      cause,
    },
  );
}

/** A SinkFactory for SyncOptions.sinks. */
export function kafkaSink(options: KafkaSinkOptions): SinkFactory {
  return (context) => new KafkaSink(context, options);
}
