import { atMonolith, atService, withClient } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { slotInfo } from '../pg/replication/slot.js';
import type { Routing } from '../routing/model.js';
import type { SyncStopError } from './events.js';
import { SyncState } from './state.js';

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
  /** now − commitTime when lagBytes > 0 (an upper bound of the apply delay), else 0. */
  lagSeconds: number | null;
  holds: { lsn: string; requestedBy: string; reached: boolean; error: string | null }[];
}

export interface SyncStatus {
  migration: string;
  slot: {
    name: string;
    exists: boolean;
    active: boolean;
    confirmedFlushLsn: string | null;
    /** WAL the slot keeps on the monolith. */
    retainedWalBytes: number | null;
    walStatus: string | null;
  };
  serverLsn: string;
  targets: TargetSyncStatus[];
  /** Why the last sync stopped on an error; null when it did not (or a later one started). */
  lastError: SyncStopError | null;
}

/**
 * Positions and lag as recorded in the databases, without a running sync (for `carve status`):
 * the monolith's WAL position and slot, and each target's apply_position and holds. Reads only.
 */
export async function readSyncStatus(routing: Routing): Promise<SyncStatus> {
  const { names } = routing;
  const state = new SyncState(names.stateSchema, names.migration);
  const slot = await slotInfo(routing.sourceUrl, names.slot);
  const serverLsn: Lsn = slot.exists
    ? slot.currentWalLsn
    : await withClient(atMonolith(routing.sourceUrl), async (c) =>
        parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn),
      );
  const targets: TargetSyncStatus[] = [];
  let lastError: SyncStopError | null = null;
  for (const service of routing.services) {
    targets.push(
      await withClient(atService(service.url), async (client) => {
        const migration = await state.readMigration(client);
        if (!migration) {
          return {
            database: service.database,
            appliedLsn: null,
            commitTime: null,
            updatedAt: null,
            lagBytes: null,
            lagSeconds: null,
            holds: [],
          };
        }
        const position = await state.readPosition(client);
        const holds = await state.readHolds(client);
        const stopped = await state.readSyncError(client);
        if (stopped && (!lastError || stopped.at > lastError.at)) lastError = stopped;
        const lagBytes = serverLsn > position.lsn ? Number(serverLsn - position.lsn) : 0;
        return {
          database: service.database,
          appliedLsn: formatLsn(position.lsn),
          commitTime: position.commitTime,
          updatedAt: position.updatedAt,
          lagBytes,
          lagSeconds: lagBytes === 0 ? 0 : Math.max(0, position.commitAgeSeconds ?? 0),
          holds: holds.map((h) => ({
            lsn: formatLsn(h.lsn),
            requestedBy: h.requestedBy,
            reached: h.reached,
            error: h.error,
          })),
        };
      }),
    );
  }
  return {
    migration: names.migration,
    slot: {
      name: names.slot,
      exists: slot.exists,
      active: slot.exists ? slot.active : false,
      confirmedFlushLsn:
        slot.exists && slot.confirmedFlushLsn !== null ? formatLsn(slot.confirmedFlushLsn) : null,
      retainedWalBytes: slot.exists && slot.retainedWalBytes !== null ? Number(slot.retainedWalBytes) : null,
      walStatus: slot.exists ? slot.walStatus : null,
    },
    serverLsn: formatLsn(serverLsn),
    targets,
    lastError,
  };
}
