import type { TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { openSession, type Client, type ConnectTo } from '../pg/connect.js';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import { FROZEN_FUNCTION } from '../state/monolith-schema.js';
import type { FrozenTable } from './frozen-tables.js';

/**
 * The write freeze (docs/cutover.md): in one transaction, take the tables IN EXCLUSIVE MODE (every
 * writer that had them has committed once granted; readers are not blocked), read
 * pg_current_wal_lsn() as the drain point, install a statement-level BEFORE INSERT/UPDATE/DELETE/
 * TRUNCATE trigger that raises FROZEN_SQLSTATE on each table, record the freeze, commit. The lock
 * is held for the few milliseconds this takes; afterwards application writes fail at once while a
 * session in replica mode (carve's appliers) passes the trigger.
 */

/** The trigger's name on every frozen table. */
export type { FrozenTable } from './frozen-tables.js';

export const FREEZE_TRIGGER = 'carve_frozen';

const qt = (t: TableRef) => quoteQualified(t.schema, t.name);

export function lockSql(tables: readonly TableRef[]): string {
  return `LOCK TABLE ${tables.map(qt).join(', ')} IN EXCLUSIVE MODE`;
}

export function freezeTriggerSql(stateSchema: string, frozen: FrozenTable): string {
  return (
    `CREATE OR REPLACE TRIGGER ${quoteIdent(FREEZE_TRIGGER)} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qt(frozen.table)} ` +
    `FOR EACH STATEMENT EXECUTE FUNCTION ${quoteQualified(stateSchema, FROZEN_FUNCTION)}(${quoteLiteral(frozen.message)}, ${quoteLiteral(frozen.hint)})`
  );
}

export function unfreezeTriggerSql(table: TableRef): string {
  return `DROP TRIGGER IF EXISTS ${quoteIdent(FREEZE_TRIGGER)} ON ${qt(table)}`;
}

export interface FreezeOptions {
  to: ConnectTo;
  stateSchema: string;
  tables: FrozenTable[];
  applicationName: string;
  /** lock_timeout of each attempt (default 200 ms): writers queue behind a waiting LOCK. */
  lockTimeoutMs?: number;
  /** Give up retrying after this long (default 30 s). */
  timeoutMs?: number;
  /** Record the freeze in the same transaction, given the drain point. */
  record: (client: Client, lsn: Lsn) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number) => void;
}

export interface FreezeResult {
  lsn: Lsn;
  attempts: number;
  /** How long the EXCLUSIVE locks were held (lock granted → commit). */
  lockedMs: number;
}

/** Freeze the tables (idempotent: a frozen table gets its trigger replaced, the drain point is read anew). */
export async function freezeTables(options: FreezeOptions): Promise<FreezeResult> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 200;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const tables = options.tables.map((f) => f.table);
  const client = await openSession(options.to, { applicationName: options.applicationName });
  try {
    let delayMs = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
        await client.query(lockSql(tables));
        const locked = Date.now();
        const lsn = parseLsn(
          (await client.query('SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn')).rows[0].lsn,
        );
        for (const frozen of options.tables)
          await client.query(freezeTriggerSql(options.stateSchema, frozen));
        await options.record(client, lsn);
        await client.query('COMMIT');
        return { lsn, attempts: attempt, lockedMs: Date.now() - locked };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        if (sqlStateOf(error) !== SqlState.lockNotAvailable) throw error;
        if (Date.now() + delayMs > deadline) {
          throw new CarveError(
            'CUTOVER_FREEZE_LOCK_TIMEOUT',
            `Could not lock ${tables.map(qt).join(', ')} IN EXCLUSIVE MODE within the timeout (${attempt} attempts): long transactions keep writing to them`,
            {
              details: { tables: tables.map(qt), attempts: attempt },
              hint: 'Find the long-running writers (SELECT pid, xact_start, query FROM pg_stat_activity WHERE state <> $$idle$$ ORDER BY xact_start) and let them finish, or run again with a larger --timeout. Nothing was frozen.',
              cause: error,
            },
          );
        }
        options.onRetry?.(attempt, delayMs);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(2000, delayMs * 2);
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** Remove the triggers and the record in one transaction (idempotent). */
export async function unfreezeTables(
  to: ConnectTo,
  tables: readonly TableRef[],
  applicationName: string,
  forget: (client: Client) => Promise<void>,
): Promise<void> {
  const client = await openSession(to, { applicationName });
  try {
    await client.query('BEGIN');
    // A short wait at most: DROP TRIGGER takes a lock that queues behind long readers.
    await client.query('SET LOCAL lock_timeout = 10000');
    for (const table of tables) await client.query(unfreezeTriggerSql(table));
    await forget(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
