import type { Producer } from '@platformatic/kafka';
import { atMonolith, atService, openSession, withSession, type Client } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { pgTimestampToIso, type PgTimestamp } from '../pg/replication/pg-time.js';
import type { EventRouting, TableRoute } from '../routing/model.js';
import { BatchingSink, type DurablePosition } from '../sync/batching-sink.js';
import type { RoutePlan } from '../sync/route-plan.js';
import type { SinkContext, SinkFactory, SinkItem } from '../sync/sink.js';
import { sourceSessionUrl } from '../sync/source-session.js';
import { SyncState } from '../sync/state.js';
import { resumeFromCheckpoint } from './behind-slot.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { brokerError } from './kafka-sink.js';
import { loadKafka } from './kafka-client.js';
import { KafkaLog } from './kafka-log.js';

interface PendingTransaction {
  xid: number;
  commitLsn: Lsn;
  commitTime: PgTimestamp;
  databases: Set<string>;
  /** Entity key (JSON) → entity event fields. */
  entities: Map<string, { table: string; key: Record<string, string | null> }>;
}

/**
 * `data.sync.completed` (the CareSync plan's syncPatientData contract, made exact): for each source
 * transaction, once every service database it changed holds it, one event per entity it touched
 * (the plan's `events.sync_completed.entity` columns), with its LSN, transaction id, the databases
 * updated, the source commit time and the time carve saw the last database apply it.
 *
 * A sink of its own: it takes every route's changes to learn which databases a transaction
 * touches, and before making a batch durable it waits until each of those databases' applied
 * position (apply_position, written in the same transaction as the rows, by carve sync or by
 * carve apply alike) is past the transaction's commit. Its events and its checkpoint commit in one
 * Kafka transaction, so after a crash it resumes at its own durable position: nothing lost,
 * nothing twice; the slot waits for it like for any sink.
 */
export class SyncCompletedSink extends BatchingSink {
  readonly name = 'sync-completed';
  readonly kind = 'kafka';
  private log: KafkaLog | undefined;
  private producer: Producer<Buffer, Buffer, string, string> | undefined;
  private txn: Awaited<ReturnType<Producer<Buffer, Buffer, string, string>['beginTransaction']>> | undefined;
  private clients = new Map<string, Client>();
  private current: PendingTransaction | undefined;
  private batchTxns: PendingTransaction[] = [];
  private readonly entityColumns = new Map<string, string[]>();
  private readonly kafka: NonNullable<EventRouting['kafka']>;
  private readonly topic: string;
  private readonly state: SyncState;
  private stopped = false;

  constructor(
    context: SinkContext,
    private readonly events: EventRouting,
    private readonly pollMs = 50,
  ) {
    super(context);
    this.kafka = events.kafka!;
    this.topic = events.syncCompleted!.topic;
    for (const entity of events.syncCompleted!.entities)
      this.entityColumns.set(`${entity.source.schema}.${entity.source.name}`, entity.columns);
    this.state = new SyncState(context.routing.names.stateSchema, context.routing.names.migration);
  }

  accepts(_route: TableRoute): boolean {
    return true;
  }

  private get transactionalId(): string {
    return `carve-${this.context.routing.names.migration}-${this.name}`;
  }

  protected async connect(): Promise<DurablePosition> {
    this.stopped = false;
    const routing = this.context.routing;
    this.log = new KafkaLog({ brokers: this.kafka.brokers, clientId: this.kafka.clientId });
    try {
      await this.log.ensureTopics([
        {
          topic: this.topic,
          partitions: this.kafka.partitions,
          replicationFactor: this.kafka.replicationFactor,
        },
        {
          topic: this.events.checkpointTopic,
          partitions: 1,
          replicationFactor: this.kafka.replicationFactor,
        },
      ]);
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
    for (const service of routing.services) {
      this.clients.set(
        service.database,
        await openSession(atService(service.url), { applicationName: 'carve sync-completed' }),
      );
    }
    const { Producer } = await loadKafka();
    this.producer = new Producer({
      clientId: this.kafka.clientId,
      bootstrapBrokers: this.kafka.brokers,
      transactionalId: this.transactionalId,
      idempotent: true,
      producerId: -1n,
      producerEpoch: -1,
      acks: -1,
      timeout: 120_000,
      retries: 5,
      retryDelay: 50,
    });
    let checkpoint: Checkpoint | undefined;
    try {
      // Fences an earlier incarnation before its checkpoint is read (see KafkaSink).
      this.txn = await this.producer.beginTransaction();
      const last = await this.log.lastCommitted(this.events.checkpointTopic, 0, this.name);
      if (last?.value) checkpoint = decodeCheckpoint(last.value);
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
    const slot = await withSession(atMonolith(sourceSessionUrl(routing.sourceUrl)), async (client) => {
      const { rows } = await client.query<{ lsn: string | null }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = $1',
        [routing.names.slot],
      );
      return rows[0]?.lsn ?? null;
    });
    // A checkpoint behind the slot means events missing for good (behind-slot.ts): refused.
    return resumeFromCheckpoint(
      routing,
      this.name,
      this.events.checkpointTopic,
      checkpoint,
      slot ? parseLsn(slot) : 0n,
    );
  }

  protected async disconnect(): Promise<void> {
    this.stopped = true;
    this.txn = undefined;
    await Promise.resolve(this.producer?.close(true)).catch(() => {});
    await this.log?.close();
    for (const client of this.clients.values()) await client.end().catch(() => {});
    this.clients.clear();
  }

  protected async beginBatch(): Promise<void> {
    this.batchTxns = [];
  }

  protected deliver(item: SinkItem): void {
    switch (item.kind) {
      case 'begin':
        this.current = {
          xid: item.xid,
          commitLsn: item.commitLsn,
          commitTime: item.commitTime,
          databases: new Set(),
          entities: new Map(),
        };
        return;
      case 'commit':
        if (this.current && this.current.databases.size > 0) this.batchTxns.push(this.current);
        this.current = undefined;
        return;
      case 'truncate':
        for (const plan of item.plans) this.current?.databases.add(plan.database);
        return;
      case 'upsert':
      case 'patch':
      case 'move':
        this.current?.databases.add(item.plan.database);
        this.entity(item.plan, item.values);
        return;
      case 'delete': {
        this.current?.databases.add(item.plan.database);
        // Only the key is known: entity columns outside it are unknown for a delete.
        const row: (string | null | undefined)[] = item.plan.columns.map(() => undefined);
        item.plan.key.forEach((position, k) => (row[position] = item.keyValues[k] ?? null));
        this.entity(item.plan, row);
        return;
      }
      default:
        return;
    }
  }

  private entity(plan: RoutePlan, values: readonly (string | null | undefined)[]): void {
    if (plan.route.kind !== 'owned' || !this.current) return;
    const table = `${plan.route.source.schema}.${plan.route.source.name}`;
    const columns = this.entityColumns.get(table);
    if (!columns) return;
    const key: Record<string, string | null> = {};
    for (const column of columns) {
      const at = plan.columns.findIndex((c) => c.source === column);
      const value = at === -1 ? undefined : values[at];
      if (value === undefined) return; // not sent (unchanged TOAST, or a delete by key only)
      key[column] = value;
    }
    this.current.entities.set(JSON.stringify([table, key]), { table, key });
  }

  protected async commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    const txns = this.batchTxns;
    this.batchTxns = [];
    const applied = new Map<string, string>();
    // Wait until every database each transaction changed has applied it.
    for (const txn of txns) {
      for (const database of txn.databases) {
        if (applied.has(`${database}\u0000${txn.commitLsn}`)) continue;
        await this.waitApplied(database, txn.commitLsn);
        applied.set(`${database}\u0000${txn.commitLsn}`, new Date().toISOString());
      }
    }
    const now = new Date().toISOString();
    const messages = txns.flatMap((txn) =>
      [...txn.entities.values()].map(({ table, key }) => ({
        topic: this.topic,
        key: Buffer.from(JSON.stringify({ table, ...key })),
        value: Buffer.from(
          JSON.stringify({
            entity: { table, key },
            lsn: formatLsn(txn.commitLsn),
            txId: txn.xid,
            databases: [...txn.databases].sort(),
            source_commit_time: pgTimestampToIso(txn.commitTime),
            apply_time: now,
          }),
        ),
      })),
    );
    await this.publish(messages, position, commitTime === null ? null : pgTimestampToIso(commitTime));
  }

  protected async writePosition(position: Lsn): Promise<void> {
    await this.publish([], position, null);
  }

  private async publish(
    messages: { topic: string; key: Buffer; value: Buffer }[],
    position: Lsn,
    commitTime: string | null,
  ): Promise<void> {
    try {
      if (!this.txn || this.txn.completed) this.txn = await this.producer!.beginTransaction();
      const txn = this.txn;
      for (let i = 0; i < messages.length; i += 1000)
        await txn.send({ messages: messages.slice(i, i + 1000) });
      await txn.send({
        messages: [
          {
            topic: this.events.checkpointTopic,
            partition: 0,
            key: Buffer.from(this.name),
            value: encodeCheckpoint({
              lsn: position,
              commitTime: commitTime ?? this.durableCommitTime,
              ranges: new Map(),
            }),
          },
        ],
      });
      await txn.commit();
      this.txn = undefined;
    } catch (error) {
      throw brokerError(this.kafka.brokers, error);
    }
  }

  private async waitApplied(database: string, commitLsn: Lsn): Promise<void> {
    const client = this.clients.get(database)!;
    for (;;) {
      if (this.stopped) throw new Error('sync-completed sink stopped');
      const position = await this.state.readPosition(client);
      // apply_position is a resume-from position: past the commit means the transaction is in.
      if (position.lsn > commitLsn) return;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}

export function syncCompletedSink(events: EventRouting): SinkFactory {
  return (context) => new SyncCompletedSink(context, events);
}
