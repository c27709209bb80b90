import type { Duplex } from 'node:stream';
import { CarveError } from '../../errors.js';
import { atMonolith, type Client, openSession } from '../connect.js';
import { formatLsn, INVALID_LSN, maxLsn, type Lsn } from '../lsn.js';
import { assertSlotName, startReplicationCommand } from './commands.js';
import { CopyBothQuery, type CopyBothConnection } from './copy-both-query.js';
import {
  encodeStandbyStatus,
  parseServerCopyDataAt,
  XLogFrame,
  type PrimaryKeepalive,
  type ReplicationMessage,
  type XLogData,
} from './protocol.js';
import { MessageQueue } from './message-queue.js';
import { ReplicationError, toReplicationError } from './replication-error.js';
import { checkSlot, defaultStatusInterval, type SlotPreflight } from './stream-preflight.js';

export interface ReplicationStreamOptions {
  /** Connection URL of the source database (the slot's database). */
  url: string;
  slot: string;
  /** Publication name(s); sent quoted, so case and punctuation are kept. */
  publication: string | readonly string[];
  /**
   * Where to start. 0/0 (default) means the slot's confirmed_flush_lsn. A position behind
   * confirmed_flush_lsn is silently raised to it by the server; one ahead of it makes the server
   * skip every transaction whose commit record starts before it (see "Acknowledgement rule").
   */
  startLsn?: Lsn;
  /** Also deliver pg_logical_emit_message() messages (pgoutput `messages`). */
  messages?: boolean;
  /** Column values in binary format (pgoutput `binary`); default text. */
  binary?: boolean;
  /**
   * How often the last acknowledged position is repeated to the server, in ms. Default:
   * 10 s, or a third of the server's wal_sender_timeout when that is shorter. This is what keeps
   * the connection alive while the reader is paused by backpressure and not reading keepalives.
   */
  statusIntervalMs?: number;
  /** Stop reading the socket once this many bytes wait in the queue (default 16 MiB). */
  maxBufferedBytes?: number;
  applicationName?: string;
  connectTimeoutMs?: number;
  /** How long stop() waits for the server to end the COPY before dropping the socket. */
  stopTimeoutMs?: number;
}

export type ReplicationStreamState = 'starting' | 'streaming' | 'stopping' | 'stopped' | 'failed';

/** How a stream ended: by stop(), or by an error (server error, lost connection …). */
export type ReplicationStreamEnd = { reason: 'stopped' } | { reason: 'failed'; error: CarveError };

const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * A logical replication stream from one slot, speaking the walsender protocol over a `pg`
 * replication connection, delivering raw XLogData (decode with src/sync/pgoutput) and keepalives.
 *
 * ## Acknowledgement rule (verified in test/integration/replication-ack.test.ts)
 *
 * The position passed to acknowledge() is sent as write/flush/apply in every Standby Status Update;
 * the server stores the flush position as the slot's confirmed_flush_lsn. When streaming starts
 * again, the server re-sends exactly the transactions whose COMMIT RECORD STARTS at or after
 * confirmed_flush_lsn (Begin.finalLsn = Commit.commitLsn >= confirmed_flush_lsn), and skips the rest.
 * Therefore:
 * - after durably applying a transaction, acknowledge its Commit.endLsn — exactly that, never
 *   `endLsn + 1`: the next transaction's commit record can start exactly at endLsn, and `+ 1`
 *   would skip it (the pg-logical-replication pitfall);
 * - acknowledging Commit.commitLsn (the start) makes that transaction be sent again.
 * - when the application has applied everything it received and no transaction is open, it may
 *   acknowledge a keepalive's walEnd (acknowledgeIdle() checks exactly that). This is needed:
 *   without it the slot never moves past WAL that carries no published change (other tables,
 *   checkpoints), and a fast server shutdown never finishes — a shutting-down walsender waits,
 *   pinging the client in a loop, until the client's flush position reaches everything it sent
 *   (measured: `pg_ctl stop -m fast` gives up after 60 s; with idle acknowledgements it takes ~0.1 s).
 *
 * Nothing is ever acknowledged on the application's behalf: the periodic status update and the
 * immediate reply to a keepalive that asks for one repeat the last acknowledged position.
 *
 * PostgreSQL 15 writes a slot to disk only when its restart_lsn or xmin move, not when only
 * confirmed_flush_lsn does, so after a server restart (even a clean one) the slot can be back
 * before what was acknowledged and already-applied transactions are sent again. Resume with
 * `startLsn` = the applier's own durable position (the server then skips what it has).
 *
 * ## Backpressure
 * Read with `for await (const message of stream)`, `read()` or `readBatch()`. While more than
 * maxBufferedBytes wait unread, the socket is paused (TCP then stops the walsender); reading
 * below half of it resumes. The status timer keeps running meanwhile, so a slow reader is not
 * mistaken for a dead one.
 *
 * ## Errors
 * A server error, a lost connection or the server ending the stream makes the next read reject
 * (after the messages already queued) with a CarveError (a ReplicationError, or a ConnectionError
 * refused for good) carrying `sqlState` and
 * `transient`; `closed` resolves with the same error. Reconnect by starting a new stream.
 */
export class ReplicationStream implements AsyncIterable<ReplicationMessage> {
  /** Open a replication connection and START_REPLICATION; resolves once the server streams. */
  static async start(options: ReplicationStreamOptions): Promise<ReplicationStream> {
    assertSlotName(options.slot);
    const publications =
      typeof options.publication === 'string' ? [options.publication] : [...options.publication];
    let client: Client;
    try {
      client = await openSession(atMonolith(options.url), {
        replication: 'database',
        applicationName: options.applicationName ?? 'carve sync',
        connectTimeoutMs: options.connectTimeoutMs,
      });
    } catch (error) {
      throw toReplicationError(error, { slot: options.slot, phase: 'connect' });
    }
    try {
      const preflight = await checkSlot(client, options.slot);
      const stream = new ReplicationStream(client, options, publications, preflight);
      await stream.begin();
      return stream;
    } catch (error) {
      await client.end().catch(() => {});
      throw toReplicationError(error, { slot: options.slot, phase: 'start' });
    }
  }

  readonly slot: string;
  /** The position asked for in START_REPLICATION. */
  readonly startLsn: Lsn;
  /** Where the server resumes: max(startLsn, the slot's confirmed_flush_lsn at start). */
  readonly resumeLsn: Lsn;
  readonly statusIntervalMs: number;
  /** The server's wal_sender_timeout in ms (0 = none). */
  readonly walSenderTimeoutMs: number;
  /** Resolves when the stream has ended, never rejects. */
  readonly closed: Promise<ReplicationStreamEnd>;

  private stateValue: ReplicationStreamState = 'starting';
  private error: CarveError | undefined;
  private connection: CopyBothConnection | undefined;
  private socket: Duplex | undefined;
  private acked: Lsn;
  /** Highest position received, as two 32-bit halves (see noteFrame), and as an Lsn once asked. */
  private receivedHigh = 0;
  private receivedLow = 0;
  private receivedLsnCache: Lsn | null = 0n;
  /** End of the last complete unit received (see PrimaryKeepalive.settledLsn), null inside a transaction. */
  private settled: Lsn | null;
  private readonly queue = new MessageQueue();
  private paused = false;
  private wakeReader: (() => void) | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusScheduled = false;
  private readonly maxBufferedBytes: number;
  private readonly stopTimeoutMs: number;
  private startWaiter: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  private endWaiter: (() => void) | undefined;
  private stopPromise: Promise<void> | undefined;
  private resolveClosed!: (end: ReplicationStreamEnd) => void;

  private constructor(
    private readonly client: Client,
    private readonly options: ReplicationStreamOptions,
    private readonly publications: string[],
    preflight: SlotPreflight,
  ) {
    this.slot = options.slot;
    this.startLsn = options.startLsn ?? INVALID_LSN;
    this.resumeLsn = maxLsn(this.startLsn, preflight.confirmedFlushLsn ?? INVALID_LSN);
    // Everything before resumeLsn is either confirmed already or skipped at the caller's request,
    // so reporting it can never confirm something unapplied, and keeps the report monotonic
    // (PostgreSQL 15 would otherwise let confirmed_flush_lsn move backwards in memory).
    this.acked = this.resumeLsn;
    this.received = this.resumeLsn;
    this.settled = this.resumeLsn;
    this.walSenderTimeoutMs = preflight.walSenderTimeoutMs;
    this.statusIntervalMs = options.statusIntervalMs ?? defaultStatusInterval(preflight.walSenderTimeoutMs);
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get state(): ReplicationStreamState {
    return this.stateValue;
  }

  /** The last position given to acknowledge() (or resumeLsn): the only position ever reported. */
  get acknowledgedLsn(): Lsn {
    return this.acked;
  }

  /** Highest position seen in XLogData or keepalives: for lag, never reported to the server. */
  get receivedLsn(): Lsn {
    return this.received;
  }

  /** Bytes waiting in the queue, and whether reading the socket is paused because of them. */
  get buffered(): { bytes: number; messages: number; paused: boolean } {
    return { bytes: this.queue.bytes, messages: this.queue.length, paused: this.paused };
  }

  /**
   * Report `lsn` as durably applied (see the acknowledgement rule above). Monotonic: a lower
   * position than already acknowledged is ignored. Sent at the end of the current event-loop
   * turn, so many acknowledgements in one turn cost one message. Acknowledging a position beyond
   * anything received throws REPLICATION_ACK_AHEAD: it would make the server skip transactions.
   */
  acknowledge(lsn: Lsn): void {
    if (typeof lsn !== 'bigint') throw new TypeError('acknowledge() takes an Lsn (bigint)');
    if (lsn > this.received) {
      throw new CarveError(
        'REPLICATION_ACK_AHEAD',
        `cannot acknowledge ${formatLsn(lsn)} on slot ${this.slot}: nothing beyond ${formatLsn(this.received)} was received`,
        {
          details: { slot: this.slot, lsn: formatLsn(lsn), received: formatLsn(this.received) },
          hint: 'Acknowledge Commit.endLsn of an applied transaction (not endLsn + 1), or an idle keepalive walEnd.',
        },
      );
    }
    if (lsn <= this.acked) return;
    this.acked = lsn;
    if (!this.statusScheduled) {
      this.statusScheduled = true;
      setImmediate(() => {
        this.statusScheduled = false;
        this.sendStatus(false);
      });
    }
  }

  /**
   * Acknowledge a keepalive's walEnd if that is safe: no transaction was open when it was sent
   * (`settledLsn` not null) and everything before it is acknowledged already (acknowledgedLsn >=
   * settledLsn). Call it for keepalives read while the applier has nothing unapplied; returns
   * whether it acknowledged. A keepalive carries no change, so this confirms nothing unapplied.
   */
  acknowledgeIdle(keepalive: PrimaryKeepalive): boolean {
    const settled = keepalive.settledLsn;
    if (settled === null || settled === undefined || this.acked < settled) return false;
    this.acknowledge(keepalive.walEnd);
    return true;
  }

  /** The next message, or null once stop() was called. Rejects with the stream's error. */
  async read(): Promise<ReplicationMessage | null> {
    await this.waitForMessages();
    return this.queue.length > 0 ? this.take() : null;
  }

  /**
   * Up to `max` queued messages at once (fewer promises per message than read()): at least one,
   * or [] when `waitMs` passed without any, or null once stopped. Rejects with the stream's error.
   */
  async readBatch(max = 1024, waitMs?: number): Promise<ReplicationMessage[] | null> {
    await this.waitForMessages(waitMs);
    if (this.queue.length === 0) return this.stateValue === 'streaming' ? [] : null;
    const batch: ReplicationMessage[] = [];
    while (batch.length < max && this.queue.length > 0) batch.push(this.take());
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReplicationMessage> {
    try {
      for (;;) {
        const message = await this.read();
        if (message === null) return;
        yield message;
      }
    } finally {
      // Leaving a for-await loop early (break/throw) stops the stream.
      await this.stop();
    }
  }

  /**
   * End cleanly: report the acknowledged position one last time, send CopyDone, wait for the
   * server to finish the command, close. Unread messages are dropped (they were not acknowledged,
   * so the server sends them again next time). Safe to call more than once and after a failure.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    if (this.stateValue === 'streaming') {
      this.stateValue = 'stopping';
      this.queue.clear();
      this.paused = false;
      this.wake();
      const ended = new Promise<void>((resolve) => (this.endWaiter = resolve));
      this.sendStatus(false);
      this.connection?.endCopyFrom();
      this.socket?.resume();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs)));
      await Promise.race([ended, timedOut]);
      clearTimeout(timer);
      this.endWaiter = undefined;
      if (this.stateValue === 'stopping') this.finish({ reason: 'stopped' });
    }
    await this.client.end().catch(() => {});
    if (this.stateValue !== 'failed') this.stateValue = 'stopped';
  }

  private begin(): Promise<void> {
    const command = startReplicationCommand({
      slot: this.slot,
      startLsn: this.startLsn,
      publications: this.publications,
      messages: this.options.messages,
      binary: this.options.binary,
    });
    const started = new Promise<void>((resolve, reject) => (this.startWaiter = { resolve, reject }));
    this.client.query(
      new CopyBothQuery(command, {
        onStart: (connection) => this.onStart(connection),
        onCopyData: (buf, start, end) => this.onCopyData(buf, start, end),
        onCommandComplete: () => this.onServerEnd(),
        onError: (error) => this.onError(error),
        onReadyForQuery: () => this.onServerEnd(),
      }),
    );
    return started;
  }

  private onStart(connection: CopyBothConnection): void {
    this.connection = connection;
    this.socket = connection.stream;
    this.stateValue = 'streaming';
    this.statusTimer = setInterval(() => this.sendStatus(false), this.statusIntervalMs);
    this.statusTimer.unref();
    this.sendStatus(false);
    this.startWaiter?.resolve();
    this.startWaiter = undefined;
  }

  private onCopyData(buf: Buffer, start: number, end: number): void {
    if (this.stateValue !== 'streaming') return;
    let message: ReplicationMessage;
    try {
      message = parseServerCopyDataAt(buf, start, end);
    } catch (error) {
      this.fail(toReplicationError(error, { slot: this.slot, phase: 'streaming' }));
      return;
    }
    if (message.kind === 'keepalive') {
      if (message.walEnd > this.received) this.received = message.walEnd;
      message.settledLsn = this.settled;
      if (message.replyRequested) this.sendStatus(false);
    } else if (message instanceof XLogFrame) {
      this.noteFrame(message);
    } else {
      if (message.walStart > this.received) this.received = message.walStart;
      this.settled = settledAfter(message);
    }
    this.queue.push(message);
    if (!this.paused && this.queue.bytes >= this.maxBufferedBytes) {
      this.paused = true;
      this.socket?.pause();
    }
    this.wake();
  }

  /**
   * receivedLsn and settledLsn for an XLogData read in place, without a bigint per message: its
   * walStart is compared as two 32-bit halves against the highest seen, kept the same way.
   */
  private noteFrame(frame: XLogFrame): void {
    const buf = frame.buf;
    const at = frame.start + 1;
    const high = buf.readUInt32BE(at);
    const low = buf.readUInt32BE(at + 4);
    if (high > this.receivedHigh || (high === this.receivedHigh && low > this.receivedLow)) {
      this.receivedHigh = high;
      this.receivedLow = low;
      this.receivedLsnCache = null;
    }
    const tag = frame.end > frame.payloadStart ? buf[frame.payloadStart] : -1;
    if (tag === 0x43) this.settled = frame.walStart;
    else if (tag === 0x4d && frame.end - frame.payloadStart > 1 && (buf[frame.payloadStart + 1]! & 1) === 0)
      this.settled = frame.walStart;
    else this.settled = null;
  }

  private get received(): Lsn {
    return (this.receivedLsnCache ??= (BigInt(this.receivedHigh) << 32n) | BigInt(this.receivedLow));
  }

  private set received(lsn: Lsn) {
    this.receivedHigh = Number(lsn >> 32n);
    this.receivedLow = Number(lsn & 0xffffffffn);
    this.receivedLsnCache = lsn;
  }

  private onServerEnd(): void {
    if (this.stateValue === 'stopping') {
      this.endWaiter?.();
      return;
    }
    if (this.stateValue === 'starting' || this.stateValue === 'streaming') {
      this.fail(
        new ReplicationError(
          'REPLICATION_ENDED_BY_SERVER',
          `the server ended replication on slot ${this.slot}`,
          {
            transient: true,
            details: { slot: this.slot },
            hint: 'This happens when the server shuts down; reconnect with backoff.',
          },
        ),
      );
    }
  }

  private onError(error: unknown): void {
    if (this.stateValue === 'stopping') {
      // The connection dropped while we were ending it anyway: that is an end, not a failure.
      this.endWaiter?.();
      return;
    }
    const phase = this.stateValue === 'starting' ? 'start' : 'streaming';
    this.fail(toReplicationError(error, { slot: this.slot, phase }));
  }

  private fail(error: CarveError): void {
    if (this.stateValue === 'failed' || this.stateValue === 'stopped') return;
    const wasStarting = this.stateValue === 'starting';
    this.stateValue = 'failed';
    this.error = error;
    if (wasStarting) {
      this.startWaiter?.reject(error);
      this.startWaiter = undefined;
    }
    this.finish({ reason: 'failed', error });
    this.wake();
    this.client.end().catch(() => {});
  }

  private finish(end: ReplicationStreamEnd): void {
    clearInterval(this.statusTimer);
    this.statusTimer = undefined;
    this.resolveClosed(end);
  }

  private sendStatus(replyRequested: boolean): void {
    if (this.stateValue !== 'streaming' && this.stateValue !== 'stopping') return;
    if (!this.connection || !this.socket?.writable) return;
    this.connection.sendCopyFromChunk(encodeStandbyStatus({ position: this.acked, replyRequested }));
  }

  private take(): ReplicationMessage {
    const message = this.queue.take();
    if (this.paused && this.queue.bytes <= this.maxBufferedBytes / 2) {
      this.paused = false;
      if (this.stateValue === 'streaming') this.socket?.resume();
    }
    return message;
  }

  /** Until a message is queued, the stream ends or fails, or `waitMs` passes. */
  private async waitForMessages(waitMs?: number): Promise<void> {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      while (this.queue.length === 0 && !timedOut) {
        if (this.stateValue === 'failed') throw this.error;
        if (this.stateValue !== 'streaming') return;
        if (this.wakeReader) {
          throw new CarveError(
            'REPLICATION_CONCURRENT_READ',
            `two readers on replication slot ${this.slot}`,
            {
              details: { slot: this.slot },
              hint: 'Read a ReplicationStream from one loop only.',
            },
          );
        }
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
          if (waitMs !== undefined && timer === undefined) {
            timer = setTimeout(() => {
              timedOut = true;
              this.wake();
            }, waitMs);
          }
        });
      }
      if (this.queue.length === 0 && this.stateValue === 'failed') throw this.error;
    } finally {
      clearTimeout(timer);
    }
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}

/**
 * Peeks at the pgoutput message type (this layer does not decode): after a Commit ('C', whose
 * XLogData starts at the commit end) or a non-transactional logical message ('M' without the
 * transactional flag) no transaction is open; after anything else one may be.
 */
function settledAfter(message: XLogData): Lsn | null {
  const tag = message.payload[0];
  if (tag === 0x43) return message.walStart;
  if (tag === 0x4d && message.payload.length > 1 && (message.payload[1]! & 1) === 0) return message.walStart;
  return null;
}
