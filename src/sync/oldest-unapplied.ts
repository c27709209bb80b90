import type { Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { quoteIdent } from '../pg/quote.js';
import { publicationNamesOption } from '../pg/replication/commands.js';
import { pgTimestampToUnixMillis } from '../pg/replication/pg-time.js';
import { decodePgoutput } from './pgoutput/index.js';

/** One target: transactions committing at or after `from` that touch `tables` are missing there. */
export interface UnappliedWindow {
  database: string;
  from: Lsn;
  /** `schema.name` of its monolith tables (partition roots and leaves). */
  tables: ReadonlySet<string>;
}

export interface OldestUnapplied {
  /** Per database found: source commit time (ms) of its oldest missing transaction. */
  found: Map<string, number>;
  /** The slot was read up to `upTo`: a database not in `found` misses nothing. */
  complete: boolean;
  /** Commit time (ms) of the last transaction read: a bound for the ones not read. */
  lastReadCommitMs: number | null;
}

/**
 * When no sync streams, the oldest transaction each target misses, read from the migration's slot
 * without consuming it (pg_logical_slot_peek_binary_changes): only there is its commit time.
 * Bounded, because `carve status` must answer quickly even with gigabytes behind: decoding stops
 * after `maxChanges` messages (or `timeoutMs`, which throws); past that `complete` is false.
 * The slot must not be in use (else 55006, object in use).
 */
export async function findOldestUnapplied(
  client: Client,
  slot: string,
  publication: string,
  upTo: Lsn,
  windows: readonly UnappliedWindow[],
  limits: { maxChanges: number; timeoutMs: number },
): Promise<OldestUnapplied> {
  const found = new Map<string, number>();
  const relations = new Map<number, string>();
  let lastReadCommitMs: number | null = null;
  let txn: { commitLsn: Lsn; commitMs: number } | null = null;
  const touch = (table: string) => {
    if (!txn) return;
    for (const w of windows) {
      if (found.has(w.database) || txn.commitLsn < w.from) continue;
      if (table === '*' || w.tables.has(table)) found.set(w.database, txn.commitMs);
    }
  };
  let rowsRead = 0;
  const cursor = quoteIdent('carve_status_peek');
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_catalog.set_config('statement_timeout', $1, true)`, [
      String(limits.timeoutMs),
    ]);
    await client.query(
      `DECLARE ${cursor} NO SCROLL CURSOR FOR
         SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, $3::int,
           'proto_version', '1', 'publication_names', $4)`,
      [slot, formatLsn(upTo), limits.maxChanges, publicationNamesOption([publication])],
    );
    reading: for (;;) {
      const { rows } = await client.query<{ data: Buffer }>(`FETCH 500 FROM ${cursor}`);
      for (const row of rows) {
        rowsRead++;
        const m = decodePgoutput(row.data);
        if (m.tag === 'begin') {
          txn = { commitLsn: m.finalLsn, commitMs: pgTimestampToUnixMillis(m.commitTime) };
        } else if (m.tag === 'relation') {
          relations.set(m.relationId, `${m.schema}.${m.name}`);
        } else if (m.tag === 'insert' || m.tag === 'update' || m.tag === 'delete' || m.tag === 'truncate') {
          // A relation not announced cannot be ruled out: it counts for every database.
          const ids = m.tag === 'truncate' ? m.relationIds : [m.relationId];
          for (const id of ids) touch(relations.get(id) ?? '*');
          // Begin carried the commit time: the rest of a large transaction need not be read.
          if (found.size === windows.length) break reading;
        } else if (m.tag === 'commit' && txn) {
          lastReadCommitMs = txn.commitMs;
          txn = null;
        }
      }
      if (rows.length < 500) break;
    }
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
  return { found, complete: rowsRead < limits.maxChanges, lastReadCommitMs };
}
