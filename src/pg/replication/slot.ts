import { CarveError } from '../../errors.js';
import { atMonolith, type Client, openSession, withSession } from '../connect.js';
import { parseLsn, parseLsnOrNull, type Lsn } from '../lsn.js';
import { SqlState, sqlStateOf } from '../sqlstate.js';
import { createSlotCommand, dropSlotCommand } from './commands.js';
import { toReplicationError } from './replication-error.js';
import { createSlotWithin, type SlotWaitExpired } from './slot-wait.js';

/** A freshly created slot and the snapshot it exported, held open until close(). */
export interface SlotWithSnapshot {
  slot: string;
  plugin: string;
  /**
   * The slot's consistent point: streaming from here delivers exactly the transactions that
   * commit after the exported snapshot (not visible in it) — no gap, no overlap with a copy made
   * under the snapshot.
   */
  consistentPoint: Lsn;
  /**
   * For `BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<name>'` on other
   * connections. Valid only while this handle is open and its connection idle.
   */
  snapshotName: string;
  /** False once the connection is gone (closed, or lost: then the snapshot is gone too). */
  readonly open: boolean;
  /** Close the connection, which ends the exported snapshot. The slot stays (it is permanent). */
  close(): Promise<void>;
}

/**
 * CREATE_REPLICATION_SLOT "<slot>" LOGICAL pgoutput EXPORT_SNAPSHOT on a replication
 * connection that then stays open and idle, because the exported snapshot lives only while it
 * does: every reader must have run SET TRANSACTION SNAPSHOT before close().
 *
 * Throws CarveError REPLICATION_SLOT_EXISTS if the slot is already there, otherwise a
 * ReplicationError (sqlState kept).
 */
export async function createSlotWithSnapshot(
  url: string,
  slot: string,
  /**
   * temporary: the slot lives only as long as this connection (carve resync needs only the
   * snapshot and its consistent point; a killed resync leaves no slot behind).
   */
  options: {
    plugin?: 'pgoutput';
    applicationName?: string;
    temporary?: boolean;
    /**
     * Give up after `ms` if the slot is still waiting for older transactions to end, throwing
     * what `expired` builds from them (see createSlotWithin); without it the wait is unbounded.
     */
    timeout?: { ms: number; expired: (why: SlotWaitExpired) => Error };
  } = {},
): Promise<SlotWithSnapshot> {
  const plugin = options.plugin ?? 'pgoutput';
  const command = createSlotCommand(slot, plugin, options.temporary === true);
  let client: Client;
  try {
    client = await openSession(atMonolith(url), {
      replication: 'database',
      applicationName: options.applicationName ?? 'carve slot',
    });
  } catch (error) {
    throw toReplicationError(error, { slot, phase: 'connect' });
  }
  let row: { slot_name: string; consistent_point: string; snapshot_name: string; output_plugin: string };
  let gaveUp: Error | undefined;
  try {
    const timeout = options.timeout;
    row = timeout
      ? await createSlotWithin(client, command, url, timeout.ms, (why) => (gaveUp = timeout.expired(why)))
      : (await client.query(command)).rows[0];
  } catch (error) {
    await client.end().catch(() => {});
    if (error === gaveUp) throw error;
    if (sqlStateOf(error) === SqlState.duplicateObject) {
      throw new CarveError('REPLICATION_SLOT_EXISTS', `replication slot ${slot} already exists`, {
        details: { slot },
        hint: 'Resume from the existing slot, or drop it (carve will then copy again from a new snapshot).',
        cause: error,
      });
    }
    throw toReplicationError(error, { slot, phase: 'start' });
  }
  let open = true;
  client.once('end', () => (open = false));
  return {
    slot: row.slot_name,
    plugin: row.output_plugin,
    consistentPoint: parseLsn(row.consistent_point),
    snapshotName: row.snapshot_name,
    get open() {
      return open;
    },
    async close() {
      open = false;
      await client.end().catch(() => {});
    },
  };
}

/**
 * Drop a replication slot. Returns false if it did not exist. With `wait`, waits for a walsender
 * still holding it (e.g. one just terminated) to release it; without, an active slot fails with
 * a ReplicationError of sqlState 55006 (transient).
 */
export async function dropSlot(
  url: string,
  slot: string,
  options: { wait?: boolean } = {},
): Promise<boolean> {
  const command = dropSlotCommand(slot, options.wait ?? false);
  try {
    await withSession(atMonolith(url), (client) => client.query(command), {
      replication: 'database',
      applicationName: 'carve slot',
    });
    return true;
  } catch (error) {
    if (sqlStateOf(error) === SqlState.undefinedObject) return false;
    throw toReplicationError(error, { slot, phase: 'start' });
  }
}

export type SlotInfo =
  | { exists: false; slot: string }
  | {
      exists: true;
      slot: string;
      plugin: string | null;
      slotType: 'logical' | 'physical';
      database: string | null;
      temporary: boolean;
      active: boolean;
      activePid: number | null;
      /** Oldest WAL the slot needs (decoding restarts here). */
      restartLsn: Lsn | null;
      /** What the consumer has acknowledged (logical slots). */
      confirmedFlushLsn: Lsn | null;
      /** reserved / extended / unreserved / lost */
      walStatus: string | null;
      /** Bytes of WAL the slot holds back: current WAL position − restart_lsn. */
      retainedWalBytes: bigint | null;
      /** Bytes between what was acknowledged and the current WAL position (lag of the consumer). */
      unconfirmedBytes: bigint | null;
      /**
       * WAL that can still be written before the slot loses WAL it needs (max_slot_wal_keep_size);
       * null when that is unlimited (or the slot is already lost).
       */
      safeWalBytes: bigint | null;
      currentWalLsn: Lsn;
    };

/** The slot as pg_replication_slots shows it, on a normal (non-replication) connection. */
export async function slotInfo(source: string | Client, slot: string): Promise<SlotInfo> {
  if (typeof source === 'string') return withSession(atMonolith(source), (client) => slotInfo(client, slot));
  const { rows } = await source.query(
    `WITH here AS (
       SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn)
     SELECT s.plugin, s.slot_type, s.database, s.temporary, s.active, s.active_pid,
            s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.wal_status,
            pg_wal_lsn_diff(here.lsn, s.restart_lsn)::bigint::text AS retained,
            pg_wal_lsn_diff(here.lsn, s.confirmed_flush_lsn)::bigint::text AS unconfirmed,
            s.safe_wal_size::text AS safe,
            here.lsn::text AS current_lsn
       FROM pg_replication_slots AS s, here
      WHERE s.slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) return { exists: false, slot };
  return {
    exists: true,
    slot,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    temporary: row.temporary,
    active: row.active,
    activePid: row.active_pid,
    restartLsn: parseLsnOrNull(row.restart_lsn),
    confirmedFlushLsn: parseLsnOrNull(row.confirmed_flush_lsn),
    walStatus: row.wal_status,
    retainedWalBytes: row.retained === null ? null : BigInt(row.retained),
    unconfirmedBytes: row.unconfirmed === null ? null : BigInt(row.unconfirmed),
    safeWalBytes: row.safe === null ? null : BigInt(row.safe),
    currentWalLsn: parseLsn(row.current_lsn),
  };
}

export interface SystemIdentity {
  systemId: string;
  timeline: number;
  /** Current WAL flush position. */
  xlogPos: Lsn;
  /** Database of the replication connection. */
  dbName: string | null;
}

/** IDENTIFY_SYSTEM on a replication connection. */
export async function identifySystem(url: string): Promise<SystemIdentity> {
  return withSession(
    atMonolith(url),
    async (client) => {
      const row = (await client.query('IDENTIFY_SYSTEM')).rows[0];
      return {
        systemId: String(row.systemid),
        timeline: Number(row.timeline),
        xlogPos: parseLsn(row.xlogpos),
        dbName: row.dbname,
      };
    },
    { replication: 'database', applicationName: 'carve' },
  );
}
