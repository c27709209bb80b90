import { CarveError } from '../../errors.js';
import { formatLsn, type Lsn } from '../lsn.js';
import { quoteIdent } from '../quote.js';

/**
 * Text of the walsender's replication commands. Pure, so it is asserted as text in unit tests and
 * executed in integration tests.
 *
 * The replication grammar (repl_scanner.l) is not SQL: string literals are '…' with '' for a
 * quote and NO backslash escapes (an E'…' literal is a syntax error there), so quote.ts's
 * quoteLiteral must not be used for these commands.
 */

/** A string literal for a replication command: `a'b\c` → `'a''b\c'`. */
export function replicationLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('replication command literal contains a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Slot names are restricted by PostgreSQL to lower-case letters, digits and underscores, at most
 * 63 bytes. Checking up front gives a message naming the slot instead of a server error mid-run.
 */
export function assertSlotName(slot: string): void {
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) {
    throw new CarveError(
      'REPLICATION_SLOT_NAME_INVALID',
      `invalid replication slot name ${JSON.stringify(slot)}`,
      {
        details: { slot },
        hint: 'Use 1–63 characters from a-z, 0-9 and _ (PostgreSQL allows nothing else in slot names).',
      },
    );
  }
}

/**
 * `CREATE_REPLICATION_SLOT "s" LOGICAL "pgoutput" EXPORT_SNAPSHOT`, a permanent slot. The keyword
 * form, not PostgreSQL 15's `(SNAPSHOT 'export')`: the grammar of 15 and later keeps it, and a
 * PostgreSQL 14 monolith knows no other (its walsender answers the option list with a syntax
 * error).
 */
export function createSlotCommand(slot: string, plugin: string, temporary = false): string {
  assertSlotName(slot);
  return `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${temporary ? ' TEMPORARY' : ''} LOGICAL ${quoteIdent(plugin)} EXPORT_SNAPSHOT`;
}

/** WAIT: if a walsender still holds the slot (e.g. one just terminated), wait for it instead of failing. */
export function dropSlotCommand(slot: string, wait = true): string {
  assertSlotName(slot);
  return `DROP_REPLICATION_SLOT ${quoteIdent(slot)}${wait ? ' WAIT' : ''}`;
}

/**
 * pgoutput's publication_names is ONE string holding a comma-separated list of identifiers,
 * parsed like search_path: unquoted names are folded to lower case, so every name is
 * double-quoted here (a publication "Orders" or `a,b` must not turn into something else).
 */
export function publicationNamesOption(publications: readonly string[]): string {
  if (publications.length === 0) {
    throw new CarveError(
      'REPLICATION_PUBLICATION_REQUIRED',
      'streaming needs at least one publication name',
      {
        hint: 'Pass the publication that carve created for the moving tables.',
      },
    );
  }
  return publications.map(quoteIdent).join(',');
}

export interface StartLogicalReplicationCommand {
  slot: string;
  /** 0/0 means "from the slot's confirmed_flush_lsn". */
  startLsn: Lsn;
  publications: readonly string[];
  /** pgoutput protocol version; carve speaks 1 (no in-progress streaming, no two-phase). */
  protoVersion?: 1;
  /** Also send pg_logical_emit_message() messages. */
  messages?: boolean;
  /** Send column values in binary (type send/recv) format instead of text. */
  binary?: boolean;
}

export function startReplicationCommand(command: StartLogicalReplicationCommand): string {
  assertSlotName(command.slot);
  const options = [
    `proto_version ${replicationLiteral(String(command.protoVersion ?? 1))}`,
    `publication_names ${replicationLiteral(publicationNamesOption(command.publications))}`,
  ];
  if (command.messages) options.push(`messages 'true'`);
  if (command.binary) options.push(`binary 'true'`);
  return `START_REPLICATION SLOT ${quoteIdent(command.slot)} LOGICAL ${formatLsn(command.startLsn)} (${options.join(', ')})`;
}
