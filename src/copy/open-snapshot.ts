import { formatLsn } from '../pg/lsn.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { ensurePublication } from '../pg/replication/publication.js';
import { createSlotWithSnapshot, dropSlot, type SlotInfo } from '../pg/replication/slot.js';
import type { Routing, TableRoute } from '../routing/model.js';
import { CopyLog, type MigrationRecord } from '../state/copy-log.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { ensurePartitions } from './ensure-partitions.js';
import type { CopyEvent } from './events.js';
import { exportFreshSnapshot, snapshotSession, type SnapshotSession } from './snapshot-session.js';

/**
 * The point the copy reads at. The publication (and every target partition) comes first; then a
 * fresh copy creates the slot with an exported snapshot, exactly the state before the slot's
 * consistent point; a resumed copy keeps the recorded consistent point and reads under a new
 * snapshot (see exportFreshSnapshot for why the stream still converges).
 */
export async function openCopySnapshot(
  routing: Routing,
  mode: 'fresh' | 'resume',
  slot: SlotInfo,
  recorded: readonly MigrationRecord[],
  emit: (event: CopyEvent) => void,
): Promise<{ consistentLsn: string; session: SnapshotSession }> {
  const names = routing.names;
  // Moving tables only; a table's projections read the same source. Unlogged tables write no
  // WAL, so no publication can carry them: they are copied once (plan warns about them).
  const sources = uniqueSources(routing.routes.filter((r) => !r.sourceTable.unlogged));
  await withSession(atMonolith(routing.sourceUrl), (client) =>
    ensurePublication(client, names.publication, sources),
  );
  await ensurePartitions(routing, emit);
  if (mode === 'fresh') {
    if (slot.exists) await dropSlot(routing.sourceUrl, names.slot, { wait: true }); // our own leftover: see decideMode
    await claimSlot(routing);
    const created = await createSlotWithSnapshot(routing.sourceUrl, names.slot);
    return {
      consistentLsn: formatLsn(created.consistentPoint),
      session: snapshotSession(routing.sourceUrl, created.snapshotName, () => created.close()),
    };
  }
  return { consistentLsn: recorded[0]!.consistentLsn, session: await exportFreshSnapshot(routing.sourceUrl) };
}

/**
 * Records in every target, before the slot exists, that this copy creates it now: the monolith
 * database and its WAL position, which the slot's start will not precede (decideMode reads it when
 * a copy killed before recording its run is resumed).
 */
async function claimSlot(routing: Routing): Promise<void> {
  const names = routing.names;
  const { lsn, database } = await withSession(atMonolith(routing.sourceUrl), async (c) => {
    const { rows } = await c.query(
      'SELECT pg_current_wal_insert_lsn()::text AS lsn, current_database() AS database',
    );
    return rows[0] as { lsn: string; database: string };
  });
  const log = new CopyLog(names.stateSchema, names.migration);
  for (const service of routing.services) {
    await withSession(atService(service.url), async (c) => {
      await ensureStateSchema(c, names.stateSchema);
      await log.claimSlot(c, { slot: names.slot, database, claimedLsn: lsn });
    });
  }
}

function uniqueSources(routes: TableRoute[]) {
  const seen = new Map<string, TableRoute['source']>();
  for (const route of routes) seen.set(`${route.source.schema}.${route.source.name}`, route.source);
  return [...seen.values()];
}
