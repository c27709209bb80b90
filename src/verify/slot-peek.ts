import type { Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { publicationNamesOption } from '../pg/replication/commands.js';
import { decodePgoutput } from '../sync/pgoutput/index.js';
import { cursorRows } from './cursor-rows.js';

/** One target database and the window of source commits that must not touch its tables. */
export interface PeekWindow {
  database: string;
  /** Commits with from <= commit LSN < to would make this database differ from the snapshot. */
  from: Lsn;
  to: Lsn;
  /** `schema.name` of the monolith tables it holds (as published: partition roots). */
  tables: ReadonlySet<string>;
}

export interface PeekFinding {
  database: string;
  transactions: number;
  firstCommitLsn: string;
}

/**
 * Reads (without consuming) the migration's slot up to `upTo` and reports, per database, the
 * transactions that committed inside its window and changed one of its tables. Streams through a
 * cursor; relation ids are resolved from the Relation messages pgoutput sends in the session.
 * The slot must not be in use (the caller holds the migration lock, so no sync runs).
 */
export async function peekRelevantCommits(
  client: Client,
  slot: string,
  publication: string,
  upTo: Lsn,
  windows: readonly PeekWindow[],
): Promise<PeekFinding[]> {
  const relations = new Map<number, string>();
  const found = new Map<string, PeekFinding>();
  let commitLsn: Lsn = 0n;
  let touched = new Set<string>();
  const settle = () => {
    for (const w of windows) {
      if (commitLsn < w.from || commitLsn >= w.to) continue;
      if (![...touched].some((t) => t === '*' || w.tables.has(t))) continue;
      const f = found.get(w.database) ?? {
        database: w.database,
        transactions: 0,
        firstCommitLsn: formatLsn(commitLsn),
      };
      f.transactions++;
      found.set(w.database, f);
    }
  };
  await client.query('BEGIN');
  try {
    const rows = cursorRows<{ data: Buffer }>(client, {
      text: `SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL, 'proto_version', '1', 'publication_names', $3)`,
      values: [slot, formatLsn(upTo), publicationNamesOption([publication])],
    });
    for await (const row of rows) {
      const m = decodePgoutput(row.data);
      switch (m.tag) {
        case 'begin':
          commitLsn = m.finalLsn;
          touched = new Set();
          break;
        case 'relation':
          relations.set(m.relationId, `${m.schema}.${m.name}`);
          break;
        case 'insert':
        case 'update':
        case 'delete':
          // An unknown relation cannot be ruled out: it counts for every database.
          touched.add(relations.get(m.relationId) ?? '*');
          break;
        case 'truncate':
          for (const id of m.relationIds) touched.add(relations.get(id) ?? '*');
          break;
        case 'commit':
          if (touched.size) settle();
          break;
        default:
          break;
      }
    }
  } finally {
    await client.query('COMMIT').catch(() => {});
  }
  return [...found.values()];
}
