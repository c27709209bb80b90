import { CarveError } from '../../errors.js';
import type { Lsn } from '../lsn.js';
import { pgTimestampNow, type PgTimestamp } from './pg-time.js';

/**
 * The streaming-replication sub-protocol carried inside CopyData messages
 * (https://www.postgresql.org/docs/15/protocol-replication.html). Pure: bytes in, values out.
 */

/** One chunk of output-plugin data (for pgoutput: exactly one pgoutput message). */
export interface XLogData {
  kind: 'xlogdata';
  /**
   * For logical replication the walsender puts the LSN of the decoded change here: the change's
   * own LSN for Insert/Update/Delete, the transaction's first LSN for Begin, and the commit
   * record's END for Commit. It is not a safe acknowledgement position by itself.
   */
  walStart: Lsn;
  /** Same value as walStart for logical replication (the server does not fill in its WAL end). */
  walEnd: Lsn;
  /** Server clock when the message was sent, µs since 2000-01-01. */
  serverClock: PgTimestamp;
  /** The output plugin's bytes; owned by the receiver (never a view into a reused buffer). */
  payload: Buffer;
}

/** The walsender's heartbeat. `walEnd` is how far it has sent (used for lag and idle acks). */
export interface PrimaryKeepalive {
  kind: 'keepalive';
  walEnd: Lsn;
  serverClock: PgTimestamp;
  /** The server wants a Standby Status Update now, or it will time us out (wal_sender_timeout). */
  replyRequested: boolean;
  /**
   * Set by ReplicationStream: where the last complete unit received before this keepalive ended
   * (a Commit's end, a non-transactional logical message, or the stream's resume position), or
   * null when a transaction was still open. See ReplicationStream.acknowledgeIdle.
   */
  settledLsn?: Lsn | null;
}

export type ReplicationMessage = XLogData | PrimaryKeepalive;

/**
 * An XLogData read in place: the CopyData body at `start` (its 'w' byte) up to `end` in an owned
 * buffer (a socket chunk, see copy-data-framer.ts). Nothing is copied and no bigint is made unless
 * asked for: readers on the hot path use `buf` with `payloadStart`/`end`; the XLogData fields are
 * getters, for everything else.
 */
export class XLogFrame implements XLogData {
  readonly kind = 'xlogdata' as const;

  constructor(
    /** Owned bytes holding the message (never a buffer that is reused). */
    readonly buf: Buffer,
    /** Offset of the 'w' byte. */
    readonly start: number,
    /** End of the message (and of the payload). */
    readonly end: number,
  ) {}

  /** Offset of the output plugin's bytes in `buf`. */
  get payloadStart(): number {
    return this.start + XLOGDATA_HEADER;
  }

  get walStart(): Lsn {
    return this.buf.readBigUInt64BE(this.start + 1);
  }

  get walEnd(): Lsn {
    return this.buf.readBigUInt64BE(this.start + 9);
  }

  get serverClock(): PgTimestamp {
    return this.buf.readBigInt64BE(this.start + 17);
  }

  /** A view of the payload (made on each call). */
  get payload(): Buffer {
    return this.buf.subarray(this.start + XLOGDATA_HEADER, this.end);
  }
}

/**
 * Decode the server CopyData body at buf[start, end) without copying: XLogData as an XLogFrame
 * over `buf`, which the caller must own. Same checks as parseServerCopyData.
 */
export function parseServerCopyDataAt(buf: Buffer, start: number, end: number): ReplicationMessage {
  const tag = end > start ? buf[start]! : -1;
  if (tag === XLOGDATA) {
    if (end - start < XLOGDATA_HEADER)
      throw protocolError(buf.subarray(start, end), 'XLogData shorter than its 25-byte header');
    return new XLogFrame(buf, start, end);
  }
  return parseServerCopyData(buf.subarray(start, end), { copyPayload: false });
}

const XLOGDATA = 0x77; // 'w'
const KEEPALIVE = 0x6b; // 'k'
const STANDBY_STATUS = 0x72; // 'r'
const XLOGDATA_HEADER = 25;
const KEEPALIVE_LENGTH = 18;

/**
 * Decode one server CopyData body. With `copyPayload` the XLogData payload is copied into a
 * buffer of its own; without it, it is a view into `chunk`. pg hands CopyData bodies as views into
 * its parse buffer, which it reuses for later socket reads, so the stream always copies.
 */
export function parseServerCopyData(chunk: Buffer, options: { copyPayload: boolean }): ReplicationMessage {
  const tag = chunk.length > 0 ? chunk[0]! : -1;
  if (tag === XLOGDATA) {
    if (chunk.length < XLOGDATA_HEADER)
      throw protocolError(chunk, 'XLogData shorter than its 25-byte header');
    return {
      kind: 'xlogdata',
      walStart: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      serverClock: chunk.readBigInt64BE(17),
      payload: options.copyPayload ? copyOf(chunk, XLOGDATA_HEADER) : chunk.subarray(XLOGDATA_HEADER),
    };
  }
  if (tag === KEEPALIVE) {
    if (chunk.length !== KEEPALIVE_LENGTH) throw protocolError(chunk, 'primary keepalive is not 18 bytes');
    return {
      kind: 'keepalive',
      walEnd: chunk.readBigUInt64BE(1),
      serverClock: chunk.readBigInt64BE(9),
      replyRequested: chunk[17] !== 0,
    };
  }
  throw protocolError(chunk, 'unknown replication message');
}

export interface StandbyStatus {
  /** Reported as write, flush and apply position alike: the last durably applied position. */
  position: Lsn;
  clock?: PgTimestamp;
  replyRequested?: boolean;
}

/**
 * A Standby Status Update ('r'). carve reports ONE position as written, flushed and applied: the
 * one the application acknowledged. For a logical slot the server stores the flush position as
 * confirmed_flush_lsn (see replication-stream.ts for what that means on restart); write/apply
 * only feed pg_stat_replication. 0/0 tells the server "no position yet" and is ignored by it.
 */
export function encodeStandbyStatus(status: StandbyStatus): Buffer {
  const buffer = Buffer.allocUnsafe(34);
  buffer[0] = STANDBY_STATUS;
  buffer.writeBigUInt64BE(status.position, 1);
  buffer.writeBigUInt64BE(status.position, 9);
  buffer.writeBigUInt64BE(status.position, 17);
  buffer.writeBigInt64BE(status.clock ?? pgTimestampNow(), 25);
  buffer[33] = status.replyRequested ? 1 : 0;
  return buffer;
}

function copyOf(chunk: Buffer, from: number): Buffer {
  const copy = Buffer.allocUnsafe(chunk.length - from);
  chunk.copy(copy, 0, from);
  return copy;
}

function protocolError(chunk: Buffer, reason: string): CarveError {
  return new CarveError('REPLICATION_PROTOCOL_ERROR', `replication protocol error: ${reason}`, {
    details: {
      tag: chunk.length > 0 ? String.fromCharCode(chunk[0]!) : null,
      length: chunk.length,
      reason,
    },
    hint: 'The server sent a message carve does not understand; check that it is PostgreSQL 15 or later.',
  });
}
