import { CarveError } from '../errors.js';
import { atMonolith, atService, type Client, openSession, withSession } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import {
  endTransactionsAction,
  lockBlockersOfCarve,
  lockHolders,
  slotStreamer,
} from '../pg/wait-blockers.js';
import type { Routing } from '../routing/model.js';
import { SyncState } from './state.js';

export interface HoldRequestOptions {
  /** Who asks (shown in <state>.holds.requested_by), e.g. `carve verify (pid 123)`. */
  requestedBy: string;
  /**
   * Picks the hold point while every target is locked (so no applier can pass it meanwhile), e.g.
   * the consistent point of a slot whose snapshot the caller reads the monolith with. Default: the
   * monolith's pg_current_wal_lsn().
   */
  choose?: () => Promise<Lsn>;
  /** How long to wait for one target's lock before backing off and retrying (default 2000 ms). */
  lockTimeoutMs?: number;
  /** Give up taking the locks after this long (default 60 s). */
  timeoutMs?: number;
}

export interface HoldHandle {
  lsn: Lsn;
  /** Resolves once every target holds at `lsn`; rejects with SYNC_HOLD_PASSED / SYNC_HOLD_TIMEOUT. */
  reached(options?: { timeoutMs?: number; pollMs?: number }): Promise<void>;
  /** Delete the hold rows: the running sync continues. */
  release(): Promise<void>;
}

/**
 * Ask a running `carve sync` (any process) to stop every target exactly before one source position:
 * a row in <state>.holds of every target database. Race-free: the rows are written while every
 * target's holds table is locked EXCLUSIVE, which waits for the applying transactions in progress
 * (each takes ROW SHARE on it first) and keeps new ones from starting; so the point chosen meanwhile
 * is beyond everything any target applied. Locks are taken with a timeout and released and retried
 * when one cannot be had (a target's transaction may be waiting for the stream another lock holds up).
 */
export async function requestHold(routing: Routing, options: HoldRequestOptions): Promise<HoldHandle> {
  const { names } = routing;
  const state = new SyncState(names.stateSchema, names.migration);
  const lockTimeoutMs = options.lockTimeoutMs ?? 2000;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const choose =
    options.choose ??
    (() =>
      withSession(atMonolith(routing.sourceUrl), async (c) =>
        parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn),
      ));
  const clients: Client[] = [];
  try {
    for (const service of routing.services)
      clients.push(await openSession(atService(service.url), { applicationName: options.requestedBy }));
    for (let attempt = 1; ; attempt++) {
      try {
        for (const client of clients) {
          await client.query('BEGIN');
          await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
          await client.query(`LOCK TABLE ${state.table('holds')} IN EXCLUSIVE MODE`);
        }
        const lsn = await choose();
        for (const client of clients) {
          await client.query(
            `INSERT INTO ${state.table('holds')} (migration, hold_lsn, requested_by) VALUES ($1, $2::pg_lsn, $3)
             ON CONFLICT (migration, hold_lsn) DO UPDATE SET requested_by = EXCLUDED.requested_by, reached_at = NULL, error = NULL`,
            [names.migration, formatLsn(lsn), options.requestedBy],
          );
        }
        for (const client of clients) await client.query('COMMIT');
        return handle(routing, state, lsn);
      } catch (error) {
        await Promise.all(clients.map((c) => c.query('ROLLBACK').catch(() => {})));
        if (sqlStateOf(error) !== SqlState.lockNotAvailable) throw error;
        if (Date.now() > deadline) throw await holdLockTimeout(routing, state, options.timeoutMs ?? 60_000);
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * attempt) * (0.5 + Math.random())));
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

function handle(routing: Routing, state: SyncState, lsn: Lsn): HoldHandle {
  const sql = `SELECT reached_at IS NOT NULL AS reached, error FROM ${state.table('holds')} WHERE migration = $1 AND hold_lsn = $2::pg_lsn`;
  const params = [state.migration, formatLsn(lsn)];
  return {
    lsn,
    async reached({ timeoutMs = 120_000, pollMs = 100 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const pending = new Set(routing.services.map((s) => s.database));
      while (pending.size > 0) {
        for (const service of routing.services.filter((s) => pending.has(s.database))) {
          const row = await withSession(
            atService(service.url),
            async (c) => (await c.query(sql, params)).rows[0],
          );
          if (row?.error) {
            throw new CarveError(
              'SYNC_HOLD_PASSED',
              `${service.database} cannot hold at ${formatLsn(lsn)}: ${row.error}`,
              {
                details: { database: service.database, lsn: formatLsn(lsn), error: row.error },
                hint: 'Release this hold and request a new one.',
              },
            );
          }
          if (row?.reached) pending.delete(service.database);
        }
        if (pending.size === 0) return;
        if (Date.now() > deadline) throw await holdTimeout(routing, lsn, [...pending], timeoutMs);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async release() {
      for (const service of routing.services) {
        await withSession(atService(service.url), (c) =>
          c.query(
            `DELETE FROM ${state.table('holds')} WHERE migration = $1 AND hold_lsn = $2::pg_lsn`,
            params,
          ),
        );
      }
    },
  };
}

/**
 * Why no sync reached the hold: an applier waiting for someone's lock, no stream at all, or a
 * stream whose process does not answer (suspended, hung) or is far behind — named, with what to do.
 */
async function holdTimeout(
  routing: Routing,
  lsn: Lsn,
  waiting: string[],
  timeoutMs: number,
): Promise<CarveError> {
  const services = routing.services.filter((s) => waiting.includes(s.database));
  const blockers = (
    await Promise.all(services.map((s) => lockBlockersOfCarve(atService(s.url)).catch(() => [])))
  ).flat();
  const slot = routing.names.slot;
  const streamer = await slotStreamer(atMonolith(routing.sourceUrl), slot).catch(() => null);
  let action: string;
  if (blockers.length) {
    action = endTransactionsAction(blockers, `server of ${waiting.join(', ')}`);
  } else if (!streamer) {
    action = `Start carve sync --plan <file> (nothing streams from the migration's slot ${slot})`;
  } else {
    const answered =
      streamer.replySeconds === null
        ? ''
        : `, which last heard from it ${Math.round(streamer.replySeconds)} s ago`;
    action =
      `Get the carve sync streaming from slot ${slot} going (monolith walsender pid ${streamer.pid}${answered}): ` +
      'if its process is suspended (kill -STOP, Ctrl-Z) continue it (kill -CONT <its process id>, or fg); ' +
      'if it is far behind, let it catch up (carve status shows its lag) or allow a longer wait';
  }
  return new CarveError(
    'SYNC_HOLD_TIMEOUT',
    `No running carve sync reached ${formatLsn(lsn)} in ${waiting.join(', ')} within ${Math.round(timeoutMs / 1000)} s`,
    {
      details: { lsn: formatLsn(lsn), waiting, timeoutMs, action, blockers },
      hint: `${action}; then ask for the hold again.`,
    },
  );
}

/** The holds tables stayed locked (an applier in a transaction that does not end): who holds them. */
async function holdLockTimeout(routing: Routing, state: SyncState, timeoutMs: number): Promise<CarveError> {
  const holders = (
    await Promise.all(
      routing.services.map((s) => lockHolders(atService(s.url), state.table('holds')).catch(() => [])),
    )
  ).flat();
  const action = holders.length
    ? `${endTransactionsAction(holders, 'service databases’ server')} (a carve sync applier stuck in a transaction: if its process is suspended, continue it with kill -CONT, or stop it)`
    : `Find the session holding a lock on ${state.table('holds')} in the service databases (SELECT pid FROM pg_locks WHERE relation = '${state.table('holds')}'::regclass AND granted) and end it`;
  return new CarveError(
    'SYNC_HOLD_TIMEOUT',
    `The hold tables of ${routing.services.map((s) => s.database).join(', ')} stayed locked for ${Math.round(timeoutMs / 1000)} s`,
    {
      details: { waiting: routing.services.map((s) => s.database), timeoutMs, action, blockers: holders },
      hint: `${action}; then ask for the hold again.`,
    },
  );
}
