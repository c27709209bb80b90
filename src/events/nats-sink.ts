import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CarveError, isCarveError } from '../errors.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { pgTimestampToIso, type PgTimestamp } from '../pg/replication/pg-time.js';
import type { EventRouting, TableRoute } from '../routing/model.js';
import { BatchingSink, type DurablePosition } from '../sync/batching-sink.js';
import type { SinkContext, SinkFactory, SinkItem } from '../sync/sink.js';
import { ChangeMessages, type OutgoingMessage } from './change-messages.js';
import { loadNats, nats as natsModules } from './nats-client.js';
import { readPublishContext, rereadColumnTypes } from './publish-context.js';

export interface NatsSinkOptions {
  events: EventRouting;
  /** Sink name (unique among sinks; also part of every message id and the checkpoint's). */
  name?: string;
  /** `source.version` of the events. */
  version: string;
  /** Publishes awaiting their PubAck before the sink waits for them (pipelining within a batch). */
  maxInflight?: number;
}

/** What the sink publishes about itself: messages stored, bytes, replays the stream dropped as duplicates. */
export interface NatsSinkTotals {
  messages: number;
  bytes: number;
  duplicates: number;
  checkpoints: number;
}

/**
 * The Debezium record key (Kafka's record key) as a header: NATS messages have no key. Consumers
 * that partition by key read it here; carve's other headers are the Kafka events' own.
 */
export const NATS_KEY_HEADER = 'carve.event-key';

/**
 * Publishes the change events of the plan's `events.tables` to NATS JetStream: one subject per
 * table, the same Debezium envelopes and carve headers as on Kafka, each message with a
 * `Nats-Msg-Id` that is the same every time the same change is published (`<migration>:<sink>:
 * <commit LSN>:<n>`, n counting the messages of the source transaction), so that JetStream drops a
 * replay within the stream's duplicate window.
 *
 * JetStream has no transactions. The durable position is the last acknowledged publish: a batch's
 * events are published pipelined, every PubAck is awaited, then a checkpoint message (position)
 * is published on `<prefix>.carve-checkpoints.<migration>` and its PubAck makes the batch durable;
 * the slot is acknowledged as the minimum over sinks, like the Kafka sink's. After kill -9 the
 * sink resumes from the last checkpoint and publishes the events after it again: those JetStream
 * already stored are duplicates within the window and dropped (counted in `duplicates`). A
 * restart later than the window after the crash can store the last unfinished batch twice
 * (docs/events.md). The connection does not reconnect: on a disconnect every pending publish
 * fails, the session ends (EVENTS_BROKER_UNAVAILABLE, transient) and the engine resumes from the
 * durable position on a new connection, so a publish never overtakes one lost before it.
 */
export class NatsSink extends BatchingSink {
  readonly name: string;
  readonly kind = 'nats';
  readonly published: NatsSinkTotals = { messages: 0, bytes: 0, duplicates: 0, checkpoints: 0 };

  private connection: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private messages: ChangeMessages | undefined;
  private pending: OutgoingMessage[] = [];
  /** PubAcks come to `<inbox>.<n>` of one subscription (no promise, timer or Error per publish). */
  private inbox = '';
  private ackSubscription: Subscription | undefined;
  private outstanding = 0;
  private ackFailure: Error | undefined;
  private wakeSettle: (() => void) | undefined;
  private sent = 0;
  private ackBytes = 0;
  private txnId = '';
  private txnMessages = 0;
  private readonly maxInflight: number;
  private readonly nats: NonNullable<EventRouting['nats']>;
  private readonly servers: ServerList;

  constructor(
    context: SinkContext,
    private readonly options: NatsSinkOptions,
  ) {
    super(context);
    this.name = options.name ?? 'nats';
    this.maxInflight = options.maxInflight ?? 4096;
    if (!options.events.nats) throw new Error('NatsSink needs events.nats');
    this.nats = options.events.nats;
    this.servers = serverList(this.nats.servers);
  }

  accepts(route: TableRoute): boolean {
    return route.kind === 'owned' && this.options.events.tables.some((t) => t.routeId === route.id);
  }

  /** The prefix of this sink's message ids: one migration's one sink. */
  get idPrefix(): string {
    return `${this.context.routing.names.migration}:${this.name}`;
  }

  protected async connect(): Promise<DurablePosition> {
    const events = this.options.events;
    const { transport, jetstream } = await loadNats();
    try {
      this.connection = await transport.connect({
        servers: this.servers.servers,
        ...this.servers.auth,
        name: `carve-${this.context.routing.names.migration}-${this.name}`,
        // No buffered replay after a reconnect (see the class comment): the engine reconnects.
        reconnect: false,
        timeout: 10_000,
        // Otherwise every request (each JetStream publish) builds two Error objects with stack
        // traces up front: measured 25 % of the publisher's CPU.
        noAsyncTraces: true,
      });
      const jsm = await jetstream.jetstreamManager(this.connection, { timeout: 10_000 });
      await ensureStream(jsm, this.nats, events.prefix);
      this.js = jetstream.jetstream(this.connection, { timeout: 30_000 });
      this.inbox = transport.createInbox();
      this.outstanding = 0;
      this.ackFailure = undefined;
      this.ackSubscription = this.connection.subscribe(`${this.inbox}.*`, {
        callback: (error, msg) => this.onAck(error, msg),
      });
      const connection = this.connection;
      void connection.closed().then((error) => {
        if (this.connection !== connection) return;
        this.ackFailure ??= error instanceof Error ? error : new Error('the connection closed');
        this.wakeSettle?.();
      });
      const last = await jsm.streams.getMessage(this.nats.stream, { last_by_subj: events.checkpointTopic });
      const { types, database, slotPosition } = await readPublishContext(this.context.routing, events);
      this.messages = new ChangeMessages(events, database, this.options.version, types);
      if (last) {
        const checkpoint = last.json<{ lsn: string; commit_time: string | null }>();
        return { lsn: parseLsn(checkpoint.lsn), commitTime: checkpoint.commit_time };
      }
      // Never published: start where the slot is (what came before was copied, not streamed).
      return { lsn: slotPosition, commitTime: null };
    } catch (error) {
      throw natsError(this.servers.labels, error);
    }
  }

  protected async disconnect(): Promise<void> {
    this.pending = [];
    this.outstanding = 0;
    this.ackSubscription = undefined;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => {});
  }

  protected beginBatch(): Promise<void> {
    return Promise.resolve();
  }

  protected deliver(item: SinkItem): Promise<void> | void {
    if (item.kind === 'begin') {
      this.txnId = `${this.idPrefix}:${formatLsn(item.commitLsn)}`;
      this.txnMessages = 0;
    }
    if (item.kind === 'upsert' || item.kind === 'patch' || item.kind === 'delete' || item.kind === 'move') {
      if (this.messages!.missingTypes(item.plan).length > 0) return this.learnTypes(item);
    }
    this.messages!.messages(item, this.pending);
    if (this.pending.length > 0) this.publishPending();
    if (this.outstanding >= this.maxInflight) return this.settle();
  }

  /** A column added on the monolith (schema_changes: add_nullable_columns): read its type first. */
  private async learnTypes(item: SinkItem): Promise<void> {
    this.messages!.addTypes(await rereadColumnTypes(this.context.routing, this.options.events));
    const io = this.deliver(item);
    if (io) await io;
  }

  /**
   * Publish without waiting: NATS delivers one connection's messages in order and JetStream
   * stores them in that order, so many publishes in flight keep the source order.
   */
  private publishPending(): void {
    const { headers } = natsModules().transport;
    for (const m of this.pending) {
      // Every message of the transaction counts, tombstones too, so ids do not depend on the broker.
      const n = ++this.txnMessages;
      // A tombstone only matters to Kafka's log compaction: JetStream has none.
      if (m.value === null) continue;
      const h = headers();
      for (const name in m.headers) h.set(name, m.headers[name]!);
      if (m.key) h.set(NATS_KEY_HEADER, m.key.toString());
      h.set('Nats-Msg-Id', `${this.txnId}:${n}`);
      this.connection!.publish(m.topic, m.value, { headers: h, reply: `${this.inbox}.${++this.sent}` });
      this.outstanding++;
      this.ackBytes += m.value.length;
    }
    this.pending = [];
  }

  /** A PubAck (or JetStream's error) for one publish. */
  private onAck(error: Error | null, msg: Msg): void {
    if (error) this.ackFailure ??= error;
    else if (msg.headers?.hasError) {
      // 503: no stream captures the subject (or JetStream is down).
      this.ackFailure ??= new Error(`JetStream answered ${msg.headers.code} ${msg.headers.description}`);
    } else {
      const ack = msg.json<{ error?: { code: number; description: string }; duplicate?: boolean }>();
      if (ack.error) this.ackFailure ??= new Error(`JetStream refused a message: ${ack.error.description}`);
      else if (ack.duplicate) this.published.duplicates++;
      else this.published.messages++;
    }
    this.outstanding--;
    if (this.outstanding <= 0 || this.ackFailure) this.wakeSettle?.();
  }

  /**
   * Wait until every publish in flight is acknowledged; a failure, a closed connection or 30 s
   * without all PubAcks fails the session (resumed from the durable position).
   */
  private async settle(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (this.outstanding > 0 && !this.ackFailure) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.ackFailure = new Error(`${this.outstanding} PubAcks did not arrive within 30 s`);
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakeSettle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeSettle = undefined;
    }
    if (this.ackFailure) throw natsError(this.servers.labels, this.ackFailure);
    this.published.bytes += this.ackBytes;
    this.ackBytes = 0;
  }

  protected async commitBatch(position: Lsn, commitTime: PgTimestamp | null): Promise<void> {
    await this.settle();
    await this.publishCheckpoint(position, commitTime === null ? null : pgTimestampToIso(commitTime));
  }

  protected async writePosition(position: Lsn): Promise<void> {
    await this.publishCheckpoint(position, this.durableCommitTime ?? null);
  }

  private async publishCheckpoint(position: Lsn, commitTime: string | null): Promise<void> {
    const lsn = formatLsn(position);
    try {
      await this.js!.publish(
        this.options.events.checkpointTopic,
        JSON.stringify({ lsn, commit_time: commitTime }),
        { msgID: `${this.idPrefix}:checkpoint:${lsn}` },
      );
    } catch (error) {
      throw natsError(this.servers.labels, error);
    }
    this.published.checkpoints++;
  }
}

/**
 * The stream carve publishes to: created when missing (subjects `<prefix>.>`, the plan's
 * duplicate window and replicas, file storage); an existing one must capture the prefix, and its
 * duplicate window is set to the plan's.
 */
async function ensureStream(
  jsm: JetStreamManager,
  nats: NonNullable<EventRouting['nats']>,
  prefix: string,
): Promise<void> {
  const { JetStreamApiCodes } = natsModules().jetstream;
  const { nanos } = natsModules().transport;
  const subject = `${prefix}.>`;
  let info;
  try {
    info = await jsm.streams.info(nats.stream);
  } catch (error) {
    if ((error as { code?: number }).code !== JetStreamApiCodes.StreamNotFound) throw error;
    try {
      await jsm.streams.add({
        name: nats.stream,
        subjects: [subject],
        duplicate_window: nanos(nats.duplicateWindowMs),
        num_replicas: nats.replicas,
      });
    } catch (cause) {
      throw streamError(nats.stream, subject, cause);
    }
    return;
  }
  const subjects = info.config.subjects ?? [];
  if (!subjects.includes(subject) && !subjects.includes('>')) {
    throw streamError(nats.stream, subject, new Error(`its subjects are ${subjects.join(', ') || 'none'}`));
  }
  if (info.config.duplicate_window !== nanos(nats.duplicateWindowMs)) {
    await jsm.streams.update(nats.stream, { duplicate_window: nanos(nats.duplicateWindowMs) });
  }
}

function streamError(stream: string, subject: string, cause: unknown): CarveError {
  return new CarveError(
    'EVENTS_NATS_STREAM',
    `JetStream stream ${stream} cannot hold ${subject}: ${cause instanceof Error ? cause.message : String(cause)}`,
    {
      details: { stream, subject },
      hint: `Name a stream for carve alone in events.nats.stream (carve creates it with subjects ${subject}), or add ${subject} to the subjects of ${stream}.`,
      cause,
    },
  );
}

interface ServerList {
  /** host:port for the client (credentials moved to `auth`). */
  servers: string[];
  auth: { user?: string; pass?: string; token?: string };
  /** host:port for messages (never credentials). */
  labels: string[];
}

/**
 * `nats://user:password@host:port`, `nats://token@host:port` or `host:port` → the client's
 * servers and credentials; the labels carve prints carry no credentials.
 */
export function serverList(urls: readonly string[]): ServerList {
  const auth: ServerList['auth'] = {};
  const servers: string[] = [];
  for (const url of urls) {
    if (!/^(nats|tls):\/\//.test(url)) {
      servers.push(url);
      continue;
    }
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    if (user && password) Object.assign(auth, { user, pass: password });
    else if (user) auth.token = user;
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  return { servers, auth, labels: servers.map((s) => s.replace(/^(nats|tls):\/\//, '')) };
}

/** A NATS error as carve reports it: transient (the engine retries, the slot holds the WAL meanwhile). */
function natsError(servers: string[], cause: unknown): CarveError {
  if (isCarveError(cause)) return cause;
  return new CarveError(
    'EVENTS_BROKER_UNAVAILABLE',
    `NATS at ${servers.join(', ')} did not answer: ${cause instanceof Error ? cause.message : String(cause)}`,
    {
      details: { brokers: servers },
      transient: true,
      hint: 'Check that the servers in events.nats.servers are up, reachable and run JetStream (-js); carve retries and holds the slot meanwhile.',
      cause,
    },
  );
}

/** A SinkFactory for SyncOptions.sinks. */
export function natsSink(options: NatsSinkOptions): SinkFactory {
  return (context) => new NatsSink(context, options);
}
