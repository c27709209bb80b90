import { atMonolith, atService, withSession } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { slotInfo, type SlotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import type { SyncStopError } from './events.js';
import { SyncState } from './state.js';
import { statusLag, type RecordedTarget } from './status-lag.js';

export interface TargetSyncStatus {
  database: string;
  /** Durable applied position (null when the database records no copy of this migration). */
  appliedLsn: string | null;
  /** Source commit time of the last applied transaction. */
  commitTime: string | null;
  /** When sync last wrote this position (a running sync writes at least every second while the stream moves). */
  updatedAt: string | null;
  /** Monolith WAL position − appliedLsn, in bytes. */
  lagBytes: number | null;
  /**
   * How long ago the monolith committed the oldest transaction not applied here; 0 when everything
   * it committed is applied; null when unknown (see status-lag.ts and docs/sync.md).
   */
  lagSeconds: number | null;
  /** false: lagSeconds is an upper bound, not the exact age of the oldest missing transaction. */
  lagExact: boolean;
  holds: { lsn: string; requestedBy: string; reached: boolean; error: string | null }[];
  /**
   * The applied position is behind the slot's confirmed position: the changes in between are no
   * longer in the stream (a database restored from an older backup, or `carve sync --sink
   * kafka-only` ahead of `carve apply`); an in-process sync refuses it (SYNC_TARGET_BEHIND_SLOT).
   */
  behindSlot: boolean;
  /** A `carve apply` process applies this database from Kafka right now (it holds its apply lock). */
  applyingFromKafka: boolean;
}

export interface SlotStatus {
  name: string;
  exists: boolean;
  active: boolean;
  confirmedFlushLsn: string | null;
  /** WAL the slot keeps on the monolith. */
  retainedWalBytes: number | null;
  /** reserved | extended | unreserved (about to lose WAL it needs) | lost (it did) */
  walStatus: string | null;
  /** WAL the monolith can still write before the slot loses WAL (null: no max_slot_wal_keep_size). */
  safeWalBytes: number | null;
}

export interface SyncStatus {
  migration: string;
  slot: SlotStatus;
  serverLsn: string;
  targets: TargetSyncStatus[];
  /** Why the last sync stopped on an error; null when it did not (or a later one started). */
  lastError: SyncStopError | null;
}

/**
 * Positions and lag as recorded in the databases, without a running sync (for `carve status`):
 * the monolith's WAL position and slot, and each target's apply_position and holds. Reads only.
 */
export async function readSyncStatus(
  routing: Routing,
  options: { lagSeconds?: boolean } = {},
): Promise<SyncStatus> {
  const { names } = routing;
  const state = new SyncState(names.stateSchema, names.migration);
  const slot = await slotInfo(routing.sourceUrl, names.slot);
  const serverLsn: Lsn = slot.exists
    ? slot.currentWalLsn
    : await withSession(atMonolith(routing.sourceUrl), async (c) =>
        parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn),
      );
  const targets: TargetSyncStatus[] = [];
  const recorded: RecordedTarget[] = [];
  let lastError: SyncStopError | null = null;
  for (const service of routing.services) {
    targets.push(
      await withSession(atService(service.url), async (client) => {
        const migration = await state.readMigration(client);
        if (!migration) {
          return {
            database: service.database,
            appliedLsn: null,
            commitTime: null,
            updatedAt: null,
            lagBytes: null,
            lagSeconds: null,
            lagExact: false,
            holds: [],
            behindSlot: false,
            applyingFromKafka: false,
          };
        }
        const position = await state.readPosition(client);
        const holds = await state.readHolds(client);
        const stopped = await state.readSyncError(client);
        // The slot was read first: a running sync only moves it up to positions already durable here.
        const confirmed = slot.exists ? slot.confirmedFlushLsn : null;
        const applying = await client.query(
          `SELECT 1 FROM pg_catalog.pg_stat_activity
            WHERE datname = pg_catalog.current_database() AND application_name = $1`,
          [`carve apply lock ${service.name}`],
        );
        if (stopped && (!lastError || stopped.at > lastError.at)) lastError = stopped;
        recorded.push({
          database: service.database,
          appliedLsn: position.lsn,
          commitAgeSeconds: position.commitAgeSeconds,
          recorded: await state.readRecordedLag(client),
        });
        return {
          database: service.database,
          appliedLsn: formatLsn(position.lsn),
          commitTime: position.commitTime,
          updatedAt: position.updatedAt,
          lagBytes: serverLsn > position.lsn ? Number(serverLsn - position.lsn) : 0,
          lagSeconds: null,
          lagExact: false,
          holds: holds.map((h) => ({
            lsn: formatLsn(h.lsn),
            requestedBy: h.requestedBy,
            reached: h.reached,
            error: h.error,
          })),
          behindSlot: confirmed !== null && position.lsn < confirmed,
          applyingFromKafka: applying.rows.length > 0,
        };
      }),
    );
  }
  // Lag seconds may read the slot (up to a few seconds): only for those who show them.
  const lags = options.lagSeconds === false ? new Map() : await statusLag(routing, slot, serverLsn, recorded);
  for (const target of targets) {
    const lag = lags.get(target.database);
    if (lag) Object.assign(target, { lagSeconds: lag.seconds, lagExact: lag.exact });
  }
  return {
    migration: names.migration,
    slot: slotStatus(slot),
    serverLsn: formatLsn(serverLsn),
    targets,
    lastError,
  };
}

/** The migration's slot on the monolith, for `carve status` (also while the copy runs). */
export async function readSlotStatus(routing: Routing): Promise<SlotStatus> {
  return slotStatus(await slotInfo(routing.sourceUrl, routing.names.slot));
}

function slotStatus(slot: SlotInfo): SlotStatus {
  if (!slot.exists) {
    return {
      name: slot.slot,
      exists: false,
      active: false,
      confirmedFlushLsn: null,
      retainedWalBytes: null,
      walStatus: null,
      safeWalBytes: null,
    };
  }
  return {
    name: slot.slot,
    exists: true,
    active: slot.active,
    confirmedFlushLsn: slot.confirmedFlushLsn === null ? null : formatLsn(slot.confirmedFlushLsn),
    // A lost slot has no restart_lsn: it keeps nothing, which is no reassurance.
    retainedWalBytes: slot.retainedWalBytes === null ? null : Number(slot.retainedWalBytes),
    walStatus: slot.walStatus,
    safeWalBytes: slot.safeWalBytes === null ? null : Number(slot.safeWalBytes),
  };
}
