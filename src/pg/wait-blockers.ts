import { withSession, type ConnectTo } from './connect.js';
import type { WaitBlocker } from '../error-catalogue.js';

const COLUMNS = `a.pid, a.datname AS database, a.usename AS "user", a.application_name AS application, a.state,
  extract(epoch FROM now() - a.xact_start)::float8 AS "transactionSeconds",
  to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "queryStart"`;

/**
 * Sessions with a transaction id that started before `before` seconds ago (oldest first): what a
 * new logical slot's snapshot waits for (it waits for every transaction running when it started to
 * end). `except` excludes a pid (the waiting session itself).
 */
export async function longTransactions(to: ConnectTo, except: number | null): Promise<WaitBlocker[]> {
  return withSession(to, async (c) => {
    const { rows } = await c.query(
      `SELECT ${COLUMNS} FROM pg_catalog.pg_stat_activity AS a
        WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid() AND a.pid IS DISTINCT FROM $1
        ORDER BY a.xact_start LIMIT 5`,
      [except],
    );
    return rows as WaitBlocker[];
  });
}

/**
 * Sessions holding a lock that a carve session of this database waits for (its application_name
 * starts with `carve`): what keeps an applier from reaching a hold point.
 */
export async function lockBlockersOfCarve(to: ConnectTo): Promise<WaitBlocker[]> {
  return withSession(to, async (c) => {
    const { rows } = await c.query(
      `SELECT DISTINCT ${COLUMNS}
         FROM pg_catalog.pg_stat_activity AS w
         CROSS JOIN LATERAL unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid)
         JOIN pg_catalog.pg_stat_activity AS a ON a.pid = b.pid
        WHERE w.datname = current_database() AND w.application_name LIKE 'carve%'
          AND w.wait_event_type = 'Lock'`,
    );
    return rows as WaitBlocker[];
  });
}

/** Other sessions holding a granted lock on `table` (a regclass text) in this database. */
export async function lockHolders(to: ConnectTo, table: string): Promise<WaitBlocker[]> {
  return withSession(to, async (c) => {
    const { rows } = await c.query(
      `SELECT DISTINCT ${COLUMNS} FROM pg_catalog.pg_locks AS l JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
        WHERE l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()`,
      [table],
    );
    return rows as WaitBlocker[];
  });
}

/** The walsender streaming from `slot` and how long ago its client last answered (null: none). */
export async function slotStreamer(
  to: ConnectTo,
  slot: string,
): Promise<{ pid: number; replySeconds: number | null } | null> {
  return withSession(to, async (c) => {
    const { rows } = await c.query(
      `SELECT s.active_pid AS pid, extract(epoch FROM now() - r.reply_time)::float8 AS "replySeconds"
         FROM pg_catalog.pg_replication_slots AS s
         LEFT JOIN pg_catalog.pg_stat_replication AS r ON r.pid = s.active_pid
        WHERE s.slot_name = $1 AND s.active_pid IS NOT NULL`,
      [slot],
    );
    return (rows[0] as { pid: number; replySeconds: number | null } | undefined) ?? null;
  });
}

/**
 * `pid 123 (psql, user app, database mono, idle in transaction, transaction open 41 s, last query
 * started 2026-01-02T03:04:05Z)`.
 */
export function describeBlocker(b: WaitBlocker): string {
  const parts = [
    b.application ? b.application : null,
    b.user ? `user ${b.user}` : null,
    b.database ? `database ${b.database}` : null,
    b.state,
    b.transactionSeconds === null ? null : `transaction open ${Math.round(b.transactionSeconds)} s`,
    b.queryStart ? `last query started ${b.queryStart}` : null,
  ].filter(Boolean);
  return `pid ${b.pid}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** "End the transaction of pid 123 (…) on the monolith: …", naming each session and how to end it. */
export function endTransactionsAction(blockers: WaitBlocker[], server: string): string {
  const one = blockers.length === 1;
  return (
    `End the transaction${one ? '' : 's'} of ${blockers.map(describeBlocker).join('; ')} on the ${server}: ` +
    `COMMIT or ROLLBACK ${one ? 'it in its session' : 'them in their sessions'}, or run ` +
    `${blockers.map((b) => `SELECT pg_terminate_backend(${b.pid})`).join('; ')} there`
  );
}
