import type { Admin, ClusterMetadata, Consumer } from '@platformatic/kafka';
import { CarveError } from '../errors.js';
import { kafka, loadKafka } from './kafka-client.js';

/** Connection settings of one Kafka cluster (the plan's events.kafka). */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
}

/**
 * How long carve lets a Kafka broker settle after a restart before it reports what it finds: its
 * transaction coordinator loading (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS meanwhile), the
 * markers of the transactions it completes reaching their partitions. It is the client's request
 * timeout (its default): a broker that needs longer than one request may take is reported, not
 * waited for.
 */
export const KAFKA_SETTLE_MS = 30_000;

/** Record batch attribute bit of control batches (transaction markers). */
const IS_CONTROL = 1 << 5;

/** One record as stored: its offset, whether it is a transaction marker, and of which producer. */
export interface LogRecord {
  offset: bigint;
  producerId: bigint;
  producerEpoch: number;
  /** A transaction marker: 'commit' or 'abort' (control record type 1 / 0). */
  marker: 'commit' | 'abort' | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: Map<string, string>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

/**
 * Direct reads of partitions by offset, below the client's consumer groups: carve reads ranges
 * it recorded itself (in committed checkpoints) and decides commit/abort from the transaction
 * markers, so it never depends on the client's read_committed filtering (which keeps aborted
 * records whose abort marker lies beyond one fetch response in @platformatic/kafka 1.x).
 */
export class KafkaLog {
  private clientsValue: { consumer: Consumer; admin: Admin } | undefined;
  private closed = false;
  private metadata: ClusterMetadata | undefined;

  constructor(readonly settings: KafkaSettings) {}

  /** The client's consumer and admin, created on first use (the client is loaded then, kafka-client.ts). */
  private async clients(): Promise<{ consumer: Consumer; admin: Admin }> {
    if (this.clientsValue) return this.clientsValue;
    const { Admin, Consumer } = await loadKafka();
    if (this.clientsValue) return this.clientsValue;
    if (this.closed) throw new Error('KafkaLog used after close()');
    const base = {
      clientId: this.settings.clientId,
      bootstrapBrokers: this.settings.brokers,
      retries: 3,
      retryDelay: 200,
      timeout: KAFKA_SETTLE_MS,
    };
    this.clientsValue = {
      consumer: new Consumer({ ...base, groupId: `${this.settings.clientId}-reader` }),
      admin: new Admin(base),
    };
    return this.clientsValue;
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = this.clientsValue;
    if (!clients) return;
    await Promise.all([
      Promise.resolve(clients.consumer.close(true)).catch(() => {}),
      Promise.resolve(clients.admin.close()).catch(() => {}),
    ]);
  }

  /** Create the topics that do not exist yet (existing ones are used as they are). */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const { admin } = await this.clients();
    const existing = new Set(await admin.listTopics());
    for (const spec of specs) {
      if (existing.has(spec.topic)) continue;
      try {
        await admin.createTopics({
          topics: [spec.topic],
          partitions: spec.partitions,
          replicas: spec.replicationFactor,
          configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (error) {
        // Created meanwhile by another process: fine.
        if (!(await admin.listTopics()).includes(spec.topic)) {
          throw topicCreateError(spec, error);
        }
      }
    }
    this.metadata = undefined;
  }

  /** Partition count of each topic. */
  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const metadata = await this.refresh(topics);
    return new Map(topics.map((t) => [t, metadata.topics.get(t)!.partitionsCount]));
  }

  /** The high watermark (next offset) of a partition. */
  async endOffset(topic: string, partition: number): Promise<bigint> {
    const { consumer } = await this.clients();
    const { FetchIsolationLevels, ListOffsetTimestamps } = kafka();
    const offsets = await consumer.listOffsets({
      topics: [topic],
      partitions: { [topic]: [partition] },
      timestamp: ListOffsetTimestamps.LATEST,
      isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    });
    return offsets.get(topic)![partition]!;
  }

  /** Records of a partition from `offset`, as stored (markers included, nothing filtered), up to maxBytes. */
  async read(
    topic: string,
    partition: number,
    offset: bigint,
    maxBytes = 1024 * 1024,
    waitMs = 0,
  ): Promise<LogRecord[]> {
    const { consumer } = await this.clients();
    const { FetchIsolationLevels } = kafka();
    let metadata = await this.refresh([topic]);
    let info = metadata.topics.get(topic)!;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await consumer.fetch({
          node: info.partitions[partition]!.leader,
          topics: [
            {
              topicId: info.id,
              partitions: [
                {
                  partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: offset,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: maxBytes,
                },
              ],
            },
          ],
          maxBytes,
          minBytes: waitMs > 0 ? 1 : 0,
          maxWaitTime: waitMs,
          isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
        });
        const out: LogRecord[] = [];
        for (const topicResponse of response.responses) {
          for (const p of topicResponse.partitions) {
            for (const batch of p.records ?? []) {
              const control = (batch.attributes & IS_CONTROL) !== 0;
              for (const record of batch.records) {
                const at = batch.firstOffset + BigInt(record.offsetDelta);
                if (at < offset) continue;
                const headers = new Map<string, string>();
                for (const [k, v] of record.headers) if (k) headers.set(k.toString(), v?.toString() ?? '');
                out.push({
                  offset: at,
                  producerId: batch.producerId,
                  producerEpoch: batch.producerEpoch,
                  marker: control ? (record.key?.readInt16BE(2) === 1 ? 'commit' : 'abort') : null,
                  key: record.key,
                  value: record.value,
                  headers,
                });
              }
            }
          }
        }
        return out;
      } catch (error) {
        if (attempt >= 2) throw error;
        metadata = await this.refresh([topic], true);
        info = metadata.topics.get(topic)!;
      }
    }
  }

  /**
   * The committed data records of a partition in [from, to): each record of a transaction is
   * kept once its producer's commit marker follows it, dropped after an abort marker; records
   * still undecided at the end are not returned (and `next` stops before the first of them) but
   * listed in `undecided`.
   *
   * A transaction's data records share their producer's epoch, and a producer starts a transaction
   * under a new epoch (fenced, or bumped per transaction) only after the previous one's marker —
   * unless the broker lost that marker (a crash mid-commit): then the earlier records stay
   * undecided for good, whatever markers the producer's later transactions get (a read_committed
   * consumer stops before them, until they are aborted by hand). They are listed in `undecided`
   * but do not hold `next` back: no marker will come for them.
   */
  async readCommitted(
    topic: string,
    partition: number,
    from: bigint,
    to: bigint,
  ): Promise<{ records: LogRecord[]; next: bigint; undecided: LogRecord[] }> {
    const records: LogRecord[] = [];
    const pending = new Map<bigint, LogRecord[]>();
    const orphaned: LogRecord[] = [];
    let offset = from;
    let safeNext = from;
    while (offset < to) {
      const chunk = await this.read(topic, partition, offset);
      if (chunk.length === 0) break;
      for (const record of chunk) {
        if (record.offset >= to) break;
        if (record.marker) {
          const list = pending.get(record.producerId) ?? [];
          pending.delete(record.producerId);
          if (record.marker === 'commit') records.push(...list);
        } else {
          let list = pending.get(record.producerId) ?? [];
          if (list.length > 0 && list[0]!.producerEpoch !== record.producerEpoch) {
            orphaned.push(...list);
            list = [];
          }
          list.push(record);
          pending.set(record.producerId, list);
        }
        offset = record.offset + 1n;
        if (pending.size === 0) safeNext = offset;
      }
    }
    records.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    const undecided = [...orphaned, ...[...pending.values()].flat()];
    undecided.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    return { records, next: safeNext, undecided };
  }

  /** The last committed data record with this key, searching back from the end of the partition. */
  async lastCommitted(topic: string, partition: number, key: string): Promise<LogRecord | undefined> {
    const end = await this.endOffset(topic, partition);
    for (let window = 64n; ; window *= 4n) {
      const from = end > window ? end - window : 0n;
      const { records } = await this.readCommitted(topic, partition, from, end);
      const mine = records.filter((r) => r.key?.toString() === key);
      if (mine.length > 0) return mine[mine.length - 1];
      if (from === 0n) return undefined;
    }
  }

  private async refresh(topics: readonly string[], force = false): Promise<ClusterMetadata> {
    if (!force && this.metadata && topics.every((t) => this.metadata!.topics.has(t))) return this.metadata;
    const { consumer } = await this.clients();
    this.metadata = await consumer.metadata({ topics: [...topics], forceUpdate: true });
    return this.metadata;
  }
}

/**
 * Kafka's default partition of a key (Java client compatible: murmur2, positive, modulo). Called
 * once the client is loaded (after the publisher read the partition counts through a KafkaLog).
 */
export function partitionOf(key: Buffer, partitions: number): number {
  return partitions <= 1 ? 0 : (kafka().murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * The broker refused to create a topic: the hint names what to change for the refusals an
 * operator meets (a replication factor above the brokers there are, no CreateTopics permission),
 * and how to create the topic by hand with the settings carve would have used.
 */
function topicCreateError(spec: TopicSpec, error: unknown): CarveError {
  const reason = causeText(error);
  const create = `kafka-topics.sh --create --topic ${spec.topic} --partitions ${spec.partitions}${spec.replicationFactor > 0 ? ` --replication-factor ${spec.replicationFactor}` : ''}`;
  let hint: string;
  if (/REPLICATION_FACTOR|replication factor/i.test(reason)) {
    hint = `The Kafka cluster has fewer brokers than events.kafka.replication_factor (${spec.replicationFactor}): lower it in the plan (-1 takes the broker's default) and run the command again.`;
  } else if (/AUTHORIZATION|not authorized/i.test(reason)) {
    hint = `Give carve's Kafka user the CreateTopics permission, or create the topic yourself (${create}) and run the command again.`;
  } else {
    hint = `Create the topic yourself (${create}), or give carve the CreateTopics permission, and run the command again.`;
  }
  return new CarveError('EVENTS_TOPIC_CREATE', `Kafka refused to create topic ${spec.topic}: ${reason}`, {
    details: { topic: spec.topic },
    hint,
    cause: error,
  });
}

/** The messages and codes of an error and the errors it wraps (the client nests the broker's). */
function causeText(error: unknown): string {
  const parts: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (depth > 4 || e === null || e === undefined) return;
    if (e instanceof Error) {
      parts.push(e.message);
      // The broker's error name (the client's protocol errors carry it as apiId).
      const name = (e as { apiId?: unknown }).apiId;
      if (typeof name === 'string') parts.push(name);
      const server = (e as { serverErrorMessage?: unknown }).serverErrorMessage;
      if (typeof server === 'string') parts.push(server);
      for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner, depth + 1);
      visit((e as { cause?: unknown }).cause, depth + 1);
    } else parts.push(String(e));
  };
  visit(error, 0);
  return [...new Set(parts.filter(Boolean))].join('; ');
}
