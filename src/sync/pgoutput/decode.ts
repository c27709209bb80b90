import { DecodeError } from './decode-error.js';
import {
  UNCHANGED_TOAST,
  type ColumnValue,
  type OldTupleKind,
  type PgoutputMessage,
  type RelationColumn,
  type ReplicaIdentitySetting,
  type Tuple,
  type UnsupportedMessage,
} from './messages.js';

/**
 * Decode one pgoutput message (protocol version 1, the XLogData payload of a logical replication
 * stream). Pure and synchronous. Every read is bounds-checked, and the message must use the
 * payload exactly: a truncated or over-long payload throws DecodeError (tag + byte offset),
 * never a RangeError and never a half-decoded message.
 *
 * Messages of later protocol versions (streaming, two-phase) come back as `{ tag: 'unsupported' }`.
 * Their data messages inside a stream carry an extra xid and are NOT understood: carve asks for
 * proto_version 1, where the server never sends them.
 *
 * The result may hold views into `payload` (binary column values, logical message content), so
 * the caller must own the buffer (the replication stream hands out owned copies).
 */
export function decodePgoutput(payload: Buffer): PgoutputMessage {
  const c = new Cursor(payload);
  const message = decodeBody(c);
  if (c.pos !== payload.length) c.fail(`${payload.length - c.pos} unexpected trailing byte(s)`);
  return message;
}

function decodeBody(c: Cursor): PgoutputMessage {
  switch (c.tagByte) {
    case 0x42: // B
      return { tag: 'begin', finalLsn: c.u64(), commitTime: c.i64(), xid: c.u32() };
    case 0x43: // C
      return { tag: 'commit', flags: c.u8(), commitLsn: c.u64(), endLsn: c.u64(), commitTime: c.i64() };
    case 0x4f: // O
      return { tag: 'origin', originLsn: c.u64(), name: c.cstring() };
    case 0x52: // R
      return decodeRelation(c);
    case 0x59: // Y
      return { tag: 'type', typeOid: c.u32(), schema: c.cstring(), name: c.cstring() };
    case 0x49: {
      // I
      const relationId = c.u32();
      c.expectByte(0x4e, "'N' (new tuple)");
      return { tag: 'insert', relationId, newTuple: readTuple(c) };
    }
    case 0x55:
      return decodeUpdate(c);
    case 0x44: {
      // D
      const relationId = c.u32();
      const oldKind = oldTupleKind(c, c.u8());
      if (oldKind === null) c.fail("expected 'K' or 'O' (old tuple)", c.pos - 1);
      return { tag: 'delete', relationId, oldKind, oldTuple: readTuple(c) };
    }
    case 0x54:
      return decodeTruncate(c);
    case 0x4d: {
      // M
      const flags = c.u8();
      const lsn = c.u64();
      const prefix = c.cstring();
      const length = c.i32();
      if (length < 0) c.fail(`negative content length ${length}`, c.pos - 4);
      return { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content: c.bytes(length) };
    }
    default:
      return decodeUnsupported(c);
  }
}

function decodeRelation(c: Cursor): PgoutputMessage {
  const relationId = c.u32();
  const schema = c.cstring();
  const name = c.cstring();
  const identityAt = c.pos;
  const replicaIdentity = REPLICA_IDENTITY[c.u8()];
  if (replicaIdentity === undefined) c.fail('unknown replica identity setting', identityAt);
  const count = c.i16();
  if (count < 0) c.fail(`negative column count ${count}`, c.pos - 2);
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    const flags = c.u8();
    columns.push({ name: c.cstring(), flags, isKey: (flags & 1) !== 0, typeOid: c.u32(), typeMod: c.i32() });
  }
  return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
}

const REPLICA_IDENTITY: Record<number, ReplicaIdentitySetting> = {
  0x64: 'default', // d
  0x6e: 'nothing', // n
  0x66: 'full', // f
  0x69: 'index', // i
};

function decodeUpdate(c: Cursor): PgoutputMessage {
  const relationId = c.u32();
  const marker = c.u8();
  const oldKind = oldTupleKind(c, marker);
  let oldTuple: Tuple | null = null;
  if (oldKind !== null) {
    oldTuple = readTuple(c);
    c.expectByte(0x4e, "'N' (new tuple)");
  } else if (marker !== 0x4e) {
    c.fail("expected 'K', 'O' or 'N'", c.pos - 1);
  }
  return { tag: 'update', relationId, oldKind, oldTuple, newTuple: readTuple(c) };
}

function oldTupleKind(_c: Cursor, marker: number): OldTupleKind | null {
  if (marker === 0x4b) return 'key'; // K
  if (marker === 0x4f) return 'full'; // O
  return null;
}

function decodeTruncate(c: Cursor): PgoutputMessage {
  const count = c.i32();
  if (count < 0) c.fail(`negative relation count ${count}`, c.pos - 4);
  const options = c.u8();
  c.need(count * 4);
  const relationIds: number[] = [];
  for (let i = 0; i < count; i++) relationIds.push(c.u32());
  return { tag: 'truncate', cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationIds };
}

/** TupleData: Int16 column count, then per column a kind byte and, for 't'/'b', Int32 length + bytes. */
function readTuple(c: Cursor): Tuple {
  const count = c.i16();
  if (count < 0) c.fail(`negative column count ${count}`, c.pos - 2);
  const values: ColumnValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = c.u8();
    if (kind === 0x74) {
      // t
      const length = c.i32();
      if (length < 0) c.fail(`negative value length ${length}`, c.pos - 4);
      values.push(c.text(length));
    } else if (kind === 0x6e) {
      values.push(null); // n
    } else if (kind === 0x75) {
      values.push(UNCHANGED_TOAST); // u
    } else if (kind === 0x62) {
      // b
      const length = c.i32();
      if (length < 0) c.fail(`negative value length ${length}`, c.pos - 4);
      values.push(c.bytes(length));
    } else {
      c.fail(`unknown column kind 0x${kind.toString(16)}`, c.pos - 1);
    }
  }
  return values;
}

/** Later-protocol messages: their layout is validated (so a prefix is still rejected), content not used. */
function decodeUnsupported(c: Cursor): UnsupportedMessage {
  const code = String.fromCharCode(c.tagByte);
  switch (c.tagByte) {
    case 0x53: {
      // S: xid, first-segment flag
      const xid = c.u32();
      c.u8();
      return { tag: 'unsupported', kind: 'stream-start', code, xid };
    }
    case 0x45: // E
      return { tag: 'unsupported', kind: 'stream-stop', code };
    case 0x63: {
      // c: xid, flags, commit lsn, end lsn, commit time
      const xid = c.u32();
      c.skip(1 + 8 + 8 + 8);
      return { tag: 'unsupported', kind: 'stream-commit', code, xid };
    }
    case 0x41: {
      // A: xid, subxid [, abort lsn, abort time (protocol 4)]
      const xid = c.u32();
      c.skip(4);
      if (c.remaining() > 0) c.skip(16);
      return { tag: 'unsupported', kind: 'stream-abort', code, xid };
    }
    case 0x62: {
      // b: prepare lsn, end lsn, prepare time, xid, gid
      c.skip(24);
      const xid = c.u32();
      return { tag: 'unsupported', kind: 'begin-prepare', code, xid, gid: c.cstring() };
    }
    case 0x50: // P
    case 0x4b: // K
    case 0x70: {
      // p: flags, lsn, end lsn, time, xid, gid
      c.skip(25);
      const xid = c.u32();
      const kind = c.tagByte === 0x50 ? 'prepare' : c.tagByte === 0x4b ? 'commit-prepared' : 'stream-prepare';
      return { tag: 'unsupported', kind, code, xid, gid: c.cstring() };
    }
    case 0x72: {
      // r: flags, prepare end lsn, rollback end lsn, prepare time, rollback time, xid, gid
      c.skip(33);
      const xid = c.u32();
      return { tag: 'unsupported', kind: 'rollback-prepared', code, xid, gid: c.cstring() };
    }
    default:
      c.pos = c.buf.length; // unknown layout: nothing to check
      return { tag: 'unsupported', kind: 'unknown', code };
  }
}

/** A bounds-checked reader over one payload. */
class Cursor {
  pos = 1;
  readonly tagByte: number;

  constructor(readonly buf: Buffer) {
    if (buf.length === 0) throw new DecodeError('empty payload', null, 0, 0);
    this.tagByte = buf[0]!;
  }

  fail(reason: string, offset = this.pos): never {
    throw new DecodeError(reason, String.fromCharCode(this.tagByte), offset, this.buf.length);
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  need(bytes: number): void {
    if (this.pos + bytes > this.buf.length)
      this.fail(`truncated: needs ${bytes} more byte(s), has ${this.remaining()}`);
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.pos += bytes;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  expectByte(expected: number, what: string): void {
    if (this.u8() !== expected) this.fail(`expected ${what}`, this.pos - 1);
  }

  i16(): number {
    this.need(2);
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  u64(): bigint {
    this.need(8);
    const value = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  i64(): bigint {
    this.need(8);
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A NUL-terminated string (identifiers, prefixes): UTF-8, the server encoding carve requires. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end === -1) this.fail('unterminated string');
    const value = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return value;
  }

  text(length: number): string {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return this.buf.toString('utf8', start, this.pos);
  }

  bytes(length: number): Buffer {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }
}
