import type { Lsn } from '../../pg/lsn.js';
import type { PgTimestamp } from '../../pg/replication/pg-time.js';

/**
 * pgoutput messages (https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html),
 * as decoded by decodePgoutput. Field names follow the documentation; LSNs are bigint, timestamps
 * are bigint microseconds since 2000-01-01 (see pgTimestampToIso), xids are unsigned 32-bit.
 */

/**
 * A column value inside a tuple. The four kinds on the wire stay distinct:
 * - `null`                      'n': SQL NULL
 * - UNCHANGED_TOAST             'u': a TOASTed value the UPDATE did not change and the server did
 *                                    not send; the target must keep what it has. NEVER write null.
 * - `string`                    't': the value in text (output function) format
 * - `Buffer`                    'b': the value in binary (send function) format, when `binary` is on
 */
export type ColumnValue = string | null | Buffer | UnchangedToast;

/** The marker for pgoutput's 'u' column kind. A frozen singleton: compare with `===` or isUnchangedToast. */
export interface UnchangedToast {
  readonly unchangedToast: true;
}

/** JSON-serialises as {"unchangedToast":true} (never as null, unlike a symbol would). */
export const UNCHANGED_TOAST: UnchangedToast = Object.freeze({ unchangedToast: true as const });

export function isUnchangedToast(value: ColumnValue): value is UnchangedToast {
  return value === UNCHANGED_TOAST;
}

/** Column values in the relation's column order (the order of the last Relation message). */
export type Tuple = ColumnValue[];

export interface BeginMessage {
  tag: 'begin';
  /** LSN of the transaction's commit record (its start). */
  finalLsn: Lsn;
  commitTime: PgTimestamp;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  flags: number;
  /** LSN of the commit record (its start); equals Begin.finalLsn. */
  commitLsn: Lsn;
  /** End of the commit record: the position to acknowledge once this transaction is durably applied. */
  endLsn: Lsn;
  commitTime: PgTimestamp;
}

/** Sent after Begin when the transaction was replayed under a replication origin (PG15 always sends it). */
export interface OriginMessage {
  tag: 'origin';
  /** The commit LSN on the origin server. */
  originLsn: Lsn;
  name: string;
}

export type ReplicaIdentitySetting = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  name: string;
  /** Raw flags byte; bit 1 = part of the replica identity key. */
  flags: number;
  isKey: boolean;
  typeOid: number;
  /** atttypmod, −1 when the type has none. */
  typeMod: number;
}

/** Sent before the first change of a table in a session and again after any change to its definition. */
export interface RelationMessage {
  tag: 'relation';
  relationId: number;
  /** Schema name; pgoutput sends '' for pg_catalog. */
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentitySetting;
  columns: RelationColumn[];
}

/** Describes a non-built-in type (enum, domain, composite …) before a Relation that uses it. */
export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  /** Schema name; '' for pg_catalog. */
  schema: string;
  name: string;
}

export interface InsertMessage {
  tag: 'insert';
  relationId: number;
  newTuple: Tuple;
}

/**
 * Old-row image of an Update/Delete: 'key' ('K') holds only replica-identity key columns (the
 * others are null), 'full' ('O') the whole old row (REPLICA IDENTITY FULL).
 */
export type OldTupleKind = 'key' | 'full';

export interface UpdateMessage {
  tag: 'update';
  relationId: number;
  /**
   * Present only when the key changed (REPLICA IDENTITY DEFAULT/INDEX) or always (FULL).
   * Absent: the key is the same as in newTuple.
   */
  oldKind: OldTupleKind | null;
  oldTuple: Tuple | null;
  newTuple: Tuple;
}

export interface DeleteMessage {
  tag: 'delete';
  relationId: number;
  oldKind: OldTupleKind;
  oldTuple: Tuple;
}

export interface TruncateMessage {
  tag: 'truncate';
  cascade: boolean;
  restartIdentity: boolean;
  relationIds: number[];
}

/** pg_logical_emit_message(); sent only with the `messages` option. */
export interface LogicalMessage {
  tag: 'message';
  transactional: boolean;
  lsn: Lsn;
  prefix: string;
  content: Buffer;
}

/**
 * Messages of protocol versions 2–4 (in-progress streaming, two-phase commit) and unknown tags.
 * carve streams with proto_version 1, so seeing one means the stream was set up wrongly; it is a
 * typed result so the caller decides (stop with a clear message) instead of crashing on a throw.
 */
export interface UnsupportedMessage {
  tag: 'unsupported';
  kind:
    | 'stream-start'
    | 'stream-stop'
    | 'stream-commit'
    | 'stream-abort'
    | 'begin-prepare'
    | 'prepare'
    | 'commit-prepared'
    | 'rollback-prepared'
    | 'stream-prepare'
    | 'unknown';
  /** The message type byte, e.g. 'S'. */
  code: string;
  /** Transaction id where the message carries one. */
  xid?: number;
  /** Global transaction id of two-phase messages. */
  gid?: string;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage
  | UnsupportedMessage;
