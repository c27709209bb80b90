import { atMonolith, type Client, openSession } from '../pg/connect.js';
import { quoteLiteral } from '../pg/quote.js';

/**
 * The snapshot every copy worker reads under. The connection that exported it must stay open and
 * idle until the copy ends: the snapshot exists only as long as that transaction does, and a worker
 * that lost its connection re-attaches to it.
 */
export interface SnapshotSession {
  snapshot: string;
  /**
   * For a fresh snapshot of a resumed copy: a WAL position past the commit record of every
   * transaction the snapshot sees (the insert position read after it was taken).
   */
  lsn?: string;
  /** A new connection inside a REPEATABLE READ, READ ONLY transaction that sees exactly the snapshot. */
  attach(): Promise<Client>;
  close(): Promise<void>;
}

export function snapshotSession(
  sourceUrl: string,
  snapshot: string,
  close: () => Promise<void>,
  lsn?: string,
): SnapshotSession {
  return {
    snapshot,
    ...(lsn ? { lsn } : {}),
    async attach() {
      const client = await openSession(atMonolith(sourceUrl), { applicationName: 'carve copy worker' });
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        // SET TRANSACTION SNAPSHOT takes no parameters; the id comes from the server.
        await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
        return client;
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
    },
    close,
  };
}

/**
 * For a resumed copy, whose original snapshot died with the process that held it: a fresh snapshot
 * from an ordinary REPEATABLE READ transaction. This is safe only because the replication slot
 * already exists: its stream starts at the original consistent point, before this snapshot, and
 * replays every later change as a full-row upsert or a delete by key, so rows copied "too new" are
 * rewritten to the same values and the targets converge on the monolith. See docs/copy.md.
 */
export async function exportFreshSnapshot(sourceUrl: string): Promise<SnapshotSession> {
  const holder = await openSession(atMonolith(sourceUrl), { applicationName: 'carve copy snapshot' });
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const { rows } = await holder.query('SELECT pg_export_snapshot() AS snapshot');
  // A transaction is visible to the snapshot only once its commit record is in the WAL, so the
  // insert position read now is past every commit the snapshot sees.
  const lsn = (await holder.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn as string;
  return snapshotSession(
    sourceUrl,
    rows[0].snapshot,
    async () => {
      await holder.query('COMMIT').catch(() => {});
      await holder.end().catch(() => {});
    },
    lsn,
  );
}
