import type { Producer } from '@platformatic/kafka';
import { CarveError } from '../errors.js';
import { atMonolith, withSession } from '../pg/connect.js';
import { parseLsn } from '../pg/lsn.js';
import type { EventRouting, Routing } from '../routing/model.js';
import { sourceSessionUrl } from '../sync/source-session.js';
import { Header } from './change-messages.js';
import { readColumnTypes, type PublishedColumnType } from './column-types.js';
import { TableEnvelope } from './envelope.js';
import { brokerError, errorChain } from './kafka-sink.js';
import { kafka, loadKafka } from './kafka-client.js';
import { KAFKA_SETTLE_MS, KafkaLog, partitionOf, type LogRecord } from './kafka-log.js';

/** A chunk as the copy names it (copy's SnapshotChunkRef; events does not import copy). */
export interface SnapshotChunkRef {
  routeId: string;
  chunkNo: number;
  lsn: string;
  columns: readonly string[];
}

/** One chunk's publication (copy's SnapshotChunk). */
export interface SnapshotChunk {
  row(values: readonly (string | null)[]): Promise<void> | undefined;
  commit(): Promise<number>;
  abort(): Promise<void>;
}

type TxnProducer = Producer<Buffer, Buffer, string, string>;
type Txn = Awaited<ReturnType<TxnProducer['beginTransaction']>>;

interface Message {
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * The broker's answers to InitProducerId while its transaction coordinator is not ready (a broker
 * just restarted loads its transaction log first; a transaction being completed is finished first).
 */
const COORDINATOR_SETTLING =
  /\b(NOT_COORDINATOR|COORDINATOR_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|CONCURRENT_TRANSACTIONS)\b/;

/** How long a client's close may take: one that never reports closed must not hold the copy. */
const CLOSE_MS = 5_000;

/** A record on the snapshot topic: how many producers a run used, or one published chunk. */
type SnapshotRecord =
  | { kind: 'run'; producers: number }
  | {
      kind: 'chunk';
      /** The consistent point of the copy it belongs to (constant across resumes). */
      copy: string;
      route: string;
      chunk: number;
      lsn: string;
      events: number;
      ranges: Record<string, [number, string, string][]>;
    };

/**
 * Snapshot reads (`op: r`) of the copy on Kafka, exactly once across kill -9 (plan `events.snapshot`).
 *
 * Each copy worker has its own transactional producer (`carve-<migration>-snapshot-<n>`); a chunk's
 * reads and a record naming the chunk on carve's snapshot topic (`<prefix>.carve-snapshot.<migration>`)
 * are one Kafka transaction. open() first initialises a producer for every id any run used (the
 * topic records how many, committed before the first is used), which fences earlier incarnations
 * and aborts their open transactions, then reads the committed chunk records: those chunks are
 * published, exactly once; every other chunk is not, in the read_committed view. The copy commits a
 * chunk's reads before it marks the chunk loaded, and reads a loaded but unpublished chunk again.
 */
export class KafkaSnapshotEvents {
  private log: KafkaLog | undefined;
  private producers: TxnProducer[] = [];
  private txns: (Txn | undefined)[] = [];
  private partitions = new Map<string, number>();
  private envelopes = new Map<string, TableEnvelope>();
  private readonly done = new Set<string>();
  private records: SnapshotRecord[] = [];
  private copyLsn: string | undefined;
  /** Chunks whose commit failed: it may have reached the coordinator all the same. */
  private readonly uncertain = new Set<string>();
  private readonly kafka: NonNullable<EventRouting['kafka']>;
  private readonly events: EventRouting;
  private published_ = 0;

  constructor(
    private readonly routing: Routing,
    private readonly version: string,
    /** Bytes of messages sent to the broker at once (below the broker's message.max.bytes). */
    private readonly sendBytes = 768 * 1024,
  ) {
    if (!routing.events?.kafka) throw new Error('KafkaSnapshotEvents needs events.kafka');
    this.events = routing.events;
    this.kafka = routing.events.kafka;
  }

  /** Reads published by this run. */
  get readsPublished(): number {
    return this.published_;
  }

  publishes(routeId: string): boolean {
    return this.events.tables.some((t) => t.routeId === routeId);
  }

  published(routeId: string, chunkNo: number): boolean {
    return this.done.has(`${routeId}#${chunkNo}`);
  }

  async open(workers: number): Promise<void> {
    const events = this.events;
    await loadKafka(); // producer() and partitionOf use it synchronously
    this.log = new KafkaLog({ brokers: this.kafka.brokers, clientId: this.kafka.clientId });
    let records: SnapshotRecord[];
    try {
      await this.log.ensureTopics([
        ...events.tables.map((t) => ({
          topic: t.topic,
          partitions: this.kafka.partitions,
          replicationFactor: this.kafka.replicationFactor,
        })),
        { topic: events.snapshotTopic, partitions: 1, replicationFactor: this.kafka.replicationFactor },
      ]);
      this.partitions = await this.log.partitionCounts(events.tables.map((t) => t.topic));
      // How many producer ids earlier runs used: each run commits that count before its new ids
      // publish anything, so an id beyond every committed count never opened a transaction.
      const before = await this.committedRecords();
      const used = Math.max(0, ...before.map((r) => (r.kind === 'run' ? r.producers : 0)));
      const count = Math.max(workers, used);
      // Initialising each producer fences its earlier incarnation and aborts its open transaction.
      for (let i = 0; i < count; i++) {
        const { producer, txn } = await this.initProducer(i);
        this.producers.push(producer);
        this.txns.push(txn);
      }
      if (count > used) {
        // Recorded before any of the new producers publishes: the next run fences them all.
        await this.txns[0]!.send({
          messages: [
            {
              topic: events.snapshotTopic,
              partition: 0,
              key: Buffer.from('run'),
              value: Buffer.from(JSON.stringify({ kind: 'run', producers: count })),
            },
          ],
        });
        await this.txns[0]!.commit();
        this.txns[0] = undefined;
      }
      // Earlier incarnations are fenced now: wait until every chunk record they left is decided.
      records = await this.committedRecords((key) => key !== 'run');
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
    this.records = records;

    const { types, database } = await withSession(
      atMonolith(sourceSessionUrl(this.routing.sourceUrl)),
      async (client) => ({
        types: await readColumnTypes(
          client,
          events.tables.map((t) => t.source),
        ),
        database: (await client.query<{ db: string }>('SELECT pg_catalog.current_database() AS db')).rows[0]!
          .db,
      }),
    );
    for (const table of events.tables) {
      const route = this.routing.routes.find((r) => r.id === table.routeId)!;
      const columnTypes = types.get(`${table.source.schema}.${table.source.name}`)!;
      this.envelopes.set(
        table.routeId,
        envelopeFor(this.events, database, this.version, table, route.key, columnTypes),
      );
    }
  }

  /** The copy's consistent point: chunk records of other copies (a migration started over) do not count. */
  start(consistentLsn: string): void {
    this.copyLsn = consistentLsn;
    this.learn(this.records);
  }

  private learn(records: SnapshotRecord[]): void {
    for (const r of records) {
      if (r.kind === 'chunk' && r.copy === this.copyLsn) this.done.add(`${r.route}#${r.chunk}`);
    }
  }

  async begin(worker: number, ref: SnapshotChunkRef): Promise<SnapshotChunk> {
    if (this.copyLsn === undefined) throw new Error('snapshot publisher: start() before begin()');
    const table = this.events.tables.find((t) => t.routeId === ref.routeId)!;
    const envelope = this.envelopes.get(ref.routeId)!;
    if (ref.columns.join('\u0000') !== table.columns.join('\u0000')) {
      throw new Error(`snapshot reads of ${ref.routeId} need the published columns in order`);
    }
    const id = `${ref.routeId}#${ref.chunkNo}`;
    let txn: Txn;
    try {
      txn = await this.transaction(worker);
      if (this.uncertain.has(id)) {
        // The worker's producer was initialised again since (abort failed, or it was replaced),
        // which completes or aborts the transaction whose commit failed: the topic now says.
        this.learn(await this.committedRecords((key) => key === id));
        this.uncertain.delete(id);
      }
    } catch (error) {
      // The client may hold a half-begun transaction: the next chunk starts on a new incarnation.
      await this.replace(worker);
      throw brokerError(this.kafka.brokers, error);
    }
    if (this.done.has(id))
      return { row: () => undefined, commit: () => Promise.resolve(0), abort: () => txn.cancel() };
    const lsn = parseLsn(ref.lsn);
    const readMicros = BigInt(Date.now()) * 1000n;
    const partitions = this.partitions.get(table.topic) ?? 1;
    const keyPositions = envelope.key;
    const ranges = new Map<string, Map<number, [bigint, bigint]>>();
    let pending: Message[] = [];
    let pendingBytes = 0;
    let count = 0;
    let sent = false;
    /** One send in flight while the next rows are encoded (not two: a partition's records go in order). */
    let inflight: Promise<void> = Promise.resolve();

    const send = async () => {
      const messages = pending;
      pending = [];
      pendingBytes = 0;
      if (messages.length === 0) return;
      sent = true;
      const counts = new Map<number, number>();
      for (const m of messages) counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
      const result = await txn.send({ messages });
      for (const { topic, partition, offset } of result.offsets ?? []) {
        const n = BigInt(topic === table.topic ? (counts.get(partition) ?? 0) : 0);
        const byPartition = ranges.get(topic) ?? new Map<number, [bigint, bigint]>();
        const range = byPartition.get(partition);
        byPartition.set(partition, range ? [range[0], offset + n] : [offset, offset + n]);
        ranges.set(topic, byPartition);
      }
    };

    return {
      row: (values) => {
        const keyValues = keyPositions.map((i) => values[i] ?? null);
        const key = Buffer.from(envelope.keyJson(keyValues));
        const value = Buffer.from(
          envelope.valueJson({
            op: 'r',
            before: null,
            after: values as (string | null)[],
            source: {
              commitMicros: readMicros,
              snapshot: 'true',
              txId: null,
              lsn,
              sequence: [null, lsn],
              origin: null,
              originLsn: null,
            },
            transaction: null,
            nowMicros: BigInt(Date.now()) * 1000n,
          }),
        );
        const headers = {
          [Header.kind]: 'read',
          [Header.lsn]: ref.lsn,
          [Header.row]: JSON.stringify(values),
        };
        pending.push({ topic: table.topic, partition: partitionOf(key, partitions), key, value, headers });
        pendingBytes += key.length + value.length + 128;
        count++;
        if (pendingBytes >= this.sendBytes) {
          return inflight.then(() => {
            inflight = send();
            // Observed by the next row, commit or abort; never an unhandled rejection meanwhile.
            inflight.catch(() => {});
          });
        }
        return undefined;
      },
      commit: async () => {
        try {
          await inflight;
          await send();
          const record: SnapshotRecord = {
            kind: 'chunk',
            copy: this.copyLsn!,
            route: ref.routeId,
            chunk: ref.chunkNo,
            lsn: ref.lsn,
            events: count,
            ranges: Object.fromEntries(
              [...ranges].map(([topic, byPartition]) => [
                topic,
                [...byPartition].map(
                  ([p, [from, to]]) => [p, String(from), String(to)] as [number, string, string],
                ),
              ]),
            ),
          };
          sent = true;
          await txn.send({
            messages: [
              {
                topic: this.events.snapshotTopic,
                partition: 0,
                key: Buffer.from(`${ref.routeId}#${ref.chunkNo}`),
                value: Buffer.from(JSON.stringify(record)),
              },
            ],
          });
          await txn.commit();
        } catch (error) {
          this.uncertain.add(id);
          throw brokerError(this.kafka.brokers, error);
        } finally {
          this.txns[worker] = undefined;
        }
        this.done.add(id);
        this.published_ += count;
        return count;
      },
      abort: async () => {
        pending = [];
        await inflight.catch(() => {});
        if (txn.completed) return;
        try {
          // Nothing reached the broker: the transaction exists only in the client.
          if (sent) await txn.abort();
          else await txn.cancel();
        } catch {
          // The producer is in an unknown state: a new incarnation of the same id aborts the
          // transaction (fencing) before the worker's next chunk.
          await this.replace(worker);
        } finally {
          this.txns[worker] = undefined;
        }
      },
    };
  }

  async close(): Promise<void> {
    for (const producer of this.producers) await closeProducer(producer);
    this.producers = [];
    this.txns = [];
    if (this.log) await bounded(this.log.close(), CLOSE_MS);
    this.log = undefined;
  }

  private async transaction(worker: number): Promise<Txn> {
    if (worker >= this.producers.length) {
      throw new Error(
        `snapshot publisher opened for ${this.producers.length} workers, asked for ${worker + 1}`,
      );
    }
    const open = this.txns[worker];
    if (open && !open.completed) return open;
    const txn = await this.producers[worker]!.beginTransaction();
    this.txns[worker] = txn;
    return txn;
  }

  private async replace(worker: number): Promise<void> {
    const old = this.producers[worker];
    if (old) await closeProducer(old);
    this.producers[worker] = this.producer(worker);
    this.txns[worker] = undefined;
  }

  /**
   * A new incarnation of a worker's producer, its first transaction begun. A broker just restarted
   * answers InitProducerId with NOT_COORDINATOR until its coordinator has loaded the transaction
   * log — seconds, longer than the client's own retries (5 × 50 ms): those answers are retried, on a
   * new producer each time (the client keeps a half-begun transaction), until KAFKA_SETTLE_MS have
   * passed; then the last one is reported (EVENTS_BROKER_UNAVAILABLE).
   */
  private async initProducer(worker: number): Promise<{ producer: TxnProducer; txn: Txn }> {
    const deadline = Date.now() + KAFKA_SETTLE_MS;
    for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
      const producer = this.producer(worker);
      try {
        return { producer, txn: await producer.beginTransaction() };
      } catch (error) {
        await closeProducer(producer);
        if (!COORDINATOR_SETTLING.test(errorChain(error)) || Date.now() + pause > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private producer(worker: number): TxnProducer {
    const { Producer, stringSerializers } = kafka();
    return new Producer({
      clientId: this.kafka.clientId,
      bootstrapBrokers: this.kafka.brokers,
      transactionalId: `carve-${this.routing.names.migration}-snapshot-${worker}`,
      idempotent: true,
      // A new incarnation (see KafkaSink): InitProducerId with -1/-1.
      producerId: -1n,
      producerEpoch: -1,
      acks: -1,
      // Also the transaction timeout: one chunk (128 MiB by default) is one transaction.
      timeout: 300_000,
      retries: 5,
      retryDelay: 50,
      serializers: { headerKey: stringSerializers.headerKey, headerValue: stringSerializers.headerValue },
    });
  }

  /**
   * The committed chunk records, once no record `waitFor` names is undecided. A transaction whose
   * commit reached the coordinator before a broker crash is completed by it (or by fencing), but
   * its markers reach the partition later: read before they do, the chunk looks unpublished and
   * would be published twice. So the publisher waits until such a transaction is decided.
   *
   * Callers wait only after initialising again every producer that could have written the record,
   * and the coordinator answers that only once their earlier transactions are complete: their
   * markers follow within moments. One still undecided after KAFKA_SETTLE_MS never will be: Kafka
   * 4.4 does that after kill -9 of a single-node broker while a commit is in flight (its
   * coordinator, loading the transaction log at a stale epoch during startup, records the commit
   * complete without writing the markers). Such a transaction blocks every read_committed consumer
   * of its partitions until it is aborted by hand, so carve stops with the commands that do it.
   */
  private async committedRecords(waitFor: (key: string) => boolean = () => false): Promise<SnapshotRecord[]> {
    const deadline = Date.now() + KAFKA_SETTLE_MS;
    for (;;) {
      const end = await this.log!.endOffset(this.events.snapshotTopic, 0);
      const { records, undecided } = await this.log!.readCommitted(this.events.snapshotTopic, 0, 0n, end);
      const waiting = undecided.filter((r) => waitFor(r.key?.toString() ?? ''));
      if (waiting.length === 0)
        return records.flatMap((r) => (r.value ? [JSON.parse(r.value.toString()) as SnapshotRecord] : []));
      if (Date.now() > deadline) throw this.hanging(waiting, undecided);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * EVENTS_TRANSACTION_HANGING for the transactions of the waiting records: where each starts on
   * the snapshot topic and, from its chunk record's offset ranges, on the table topics.
   */
  private hanging(waiting: LogRecord[], undecided: LogRecord[]): CarveError {
    const producers = new Set(waiting.map((r) => r.producerId));
    const starts = new Map<string, { topic: string; partition: number; startOffset: bigint }>();
    // One open transaction per producer: its first offset on a partition is where it starts there.
    const add = (producerId: bigint, topic: string, partition: number, offset: bigint) => {
      const key = `${producerId}\u0000${topic}\u0000${partition}`;
      const known = starts.get(key);
      if (!known || offset < known.startOffset) starts.set(key, { topic, partition, startOffset: offset });
    };
    for (const record of undecided) {
      if (!producers.has(record.producerId)) continue;
      add(record.producerId, this.events.snapshotTopic, 0, record.offset);
      const chunk = parseSnapshotRecord(record);
      if (chunk?.kind !== 'chunk') continue;
      for (const [topic, ranges] of Object.entries(chunk.ranges)) {
        for (const [partition, from] of ranges) add(record.producerId, topic, partition, BigInt(from));
      }
    }
    const partitions = [...starts.values()].map((s) => ({ ...s, startOffset: String(s.startOffset) }));
    const brokers = this.kafka.brokers.join(',');
    const commands = partitions.map(
      (p) =>
        `kafka-transactions.sh --bootstrap-server ${brokers} abort --topic ${p.topic} --partition ${p.partition} --start-offset ${p.startOffset}`,
    );
    const chunks = waiting.map((r) => r.key?.toString() ?? '?').join(', ');
    return new CarveError(
      'EVENTS_TRANSACTION_HANGING',
      `The Kafka transaction of snapshot chunk ${chunks} is still open ${KAFKA_SETTLE_MS / 1000} s after its producer was fenced: the broker lost its commit or abort markers`,
      {
        details: { partitions },
        hint: `Until it is aborted, read_committed consumers of these partitions stop before it. Abort it on each partition with the Kafka distribution's kafka-transactions.sh: ${commands.join(' ; ')} — then run carve copy --resume again (it publishes the chunk again).`,
      },
    );
  }
}

function parseSnapshotRecord(record: LogRecord): SnapshotRecord | undefined {
  try {
    return record.value ? (JSON.parse(record.value.toString()) as SnapshotRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** A producer's close (forced: it may hold a half-begun transaction), bounded. */
function closeProducer(producer: TxnProducer): Promise<void> {
  return bounded(Promise.resolve(producer.close(true)), CLOSE_MS);
}

/** Waits for `work` at most `ms`; its failure or lateness is ignored (closing what is being dropped). */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function envelopeFor(
  events: EventRouting,
  database: string,
  version: string,
  table: EventRouting['tables'][number],
  routeKey: readonly string[],
  types: Map<string, PublishedColumnType>,
): TableEnvelope {
  return new TableEnvelope(
    { prefix: events.prefix, schemas: events.schemas, database, version },
    table.source.schema,
    table.source.name,
    table.columns.map((name) => ({ name, type: types.get(name)!.type, optional: !types.get(name)!.notNull })),
    routeKey.map((k) => table.columns.indexOf(k)),
  );
}
