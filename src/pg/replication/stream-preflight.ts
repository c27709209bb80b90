import type { Client } from '../connect.js';
import { parseLsnOrNull, type Lsn } from '../lsn.js';
import { quoteLiteral } from '../quote.js';
import { ReplicationError, type ReplicationErrorCode } from './replication-error.js';

const DEFAULT_STATUS_INTERVAL_MS = 10_000;

export interface SlotPreflight {
  confirmedFlushLsn: Lsn | null;
  walSenderTimeoutMs: number;
}

/**
 * Check the slot before START_REPLICATION, so the common mistakes fail with a message naming the
 * slot, and learn confirmed_flush_lsn and wal_sender_timeout. Simple-protocol SQL: a replication
 * connection accepts no bound parameters, and the slot name was validated by assertSlotName.
 */
export async function checkSlot(client: Client, slot: string): Promise<SlotPreflight> {
  const { rows } = await client.query(
    `SELECT current_setting('server_encoding') AS encoding,
            (SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout') AS wal_sender_timeout,
            current_database() AS current_database,
            s.slot_type, s.plugin, s.database, s.confirmed_flush_lsn::text AS confirmed_flush_lsn
       FROM (SELECT 1) AS one
       LEFT JOIN pg_replication_slots AS s ON s.slot_name = ${quoteLiteral(slot)}`,
  );
  const row = rows[0] as Record<string, string | null>;
  const fail = (
    code: ReplicationErrorCode,
    message: string,
    hint: string,
    details: Record<string, unknown> = {},
  ): never => {
    throw new ReplicationError(code, message, { transient: false, details: { slot, ...details }, hint });
  };
  if (row.encoding !== 'UTF8') {
    fail(
      'REPLICATION_ENCODING_UNSUPPORTED',
      `source database encoding is ${row.encoding}, not UTF8`,
      'carve decodes pgoutput text as UTF-8: stream from a UTF8 database (carve copy refuses another encoding first and says how to move the data).',
      {
        encoding: row.encoding,
      },
    );
  }
  if (row.slot_type === null) {
    fail(
      'REPLICATION_SLOT_NOT_FOUND',
      `replication slot ${slot} does not exist`,
      'Create it first (carve copy creates it with its snapshot).',
    );
  }
  if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput') {
    fail(
      'REPLICATION_SLOT_WRONG_PLUGIN',
      `replication slot ${slot} is ${row.slot_type} with plugin ${row.plugin}, not logical pgoutput`,
      'Drop it or choose another slot name.',
      {
        slotType: row.slot_type,
        plugin: row.plugin,
      },
    );
  }
  if (row.database !== row.current_database) {
    fail(
      'REPLICATION_SLOT_WRONG_DATABASE',
      `replication slot ${slot} belongs to database ${row.database}, not ${row.current_database}`,
      `Connect to database ${row.database}, the one the slot was created in.`,
      {
        database: row.database,
      },
    );
  }
  return {
    confirmedFlushLsn: parseLsnOrNull(row.confirmed_flush_lsn),
    walSenderTimeoutMs: Number(row.wal_sender_timeout ?? 0),
  };
}

/**
 * How often to repeat the acknowledged position: 10 s, or a third of wal_sender_timeout when that
 * is shorter, so that even a reader paused by backpressure is never timed out.
 */
export function defaultStatusInterval(walSenderTimeoutMs: number): number {
  if (walSenderTimeoutMs <= 0) return DEFAULT_STATUS_INTERVAL_MS;
  return Math.max(100, Math.min(DEFAULT_STATUS_INTERVAL_MS, Math.floor(walSenderTimeoutMs / 3)));
}
