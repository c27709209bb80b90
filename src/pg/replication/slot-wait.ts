import type { WaitBlocker } from '../../error-catalogue.js';
import { atMonolith, type Client, withSession } from '../connect.js';
import { endTransactionsAction, longTransactions } from '../wait-blockers.js';

/** Why a slot's creation was given up: the transactions it waited for, and what ends them. */
export interface SlotWaitExpired {
  timeoutMs: number;
  blockers: WaitBlocker[];
  /** "End the transaction of pid 123 (…) on the monolith: …" (WaitDetails.action). */
  action: string;
}

/**
 * Runs a CREATE_REPLICATION_SLOT on `client` (a replication connection to the monolith at `url`)
 * and waits at most `timeoutMs` for it. A new logical slot waits for every transaction with an id
 * that was running when it started to end, and an old one left open makes it wait for ever. When
 * the time is up, the transactions still open are read and the waiting backend is terminated
 * (closing the connection does not stop the wait, and a temporary slot goes with its backend), and
 * `expired(...)` builds the error thrown.
 */
export async function createSlotWithin<Row>(
  client: Client,
  command: string,
  url: string,
  timeoutMs: number,
  expired: (why: SlotWaitExpired) => Error,
): Promise<Row> {
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const created = client.query(command);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
  try {
    const first = await Promise.race([created, late]);
    if (first !== 'expired') return first.rows[0] as Row;
  } finally {
    clearTimeout(timer);
  }
  created.catch(() => {}); // rejects once the backend is terminated below
  const blockers = await longTransactions(atMonolith(url), pid).catch(() => []);
  await withSession(atMonolith(url), (c) => c.query('SELECT pg_terminate_backend($1)', [pid])).catch(
    () => {},
  );
  const action = blockers.length
    ? endTransactionsAction(blockers, 'monolith')
    : // pg_stat_activity hides other roles' transactions from a role without pg_read_all_stats.
      'Find the transactions open on the monolith as a superuser (or a member of pg_read_all_stats): ' +
      'SELECT pid, now() - xact_start AS open_for, query_start, usename, application_name, state FROM pg_stat_activity ' +
      'WHERE backend_xid IS NOT NULL ORDER BY xact_start; end the oldest (COMMIT or ROLLBACK in its session, or SELECT pg_terminate_backend(pid))';
  throw expired({ timeoutMs, blockers, action });
}
