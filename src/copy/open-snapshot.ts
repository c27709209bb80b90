import { formatLsn } from '../pg/lsn.js';
import { atMonolith, withSession } from '../pg/connect.js';
import { ensurePublication } from '../pg/replication/publication.js';
import { createSlotWithSnapshot, dropSlot, type SlotInfo } from '../pg/replication/slot.js';
import type { Routing, TableRoute } from '../routing/model.js';
import type { MigrationRecord } from '../state/copy-log.js';
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
    const created = await createSlotWithSnapshot(routing.sourceUrl, names.slot);
    return {
      consistentLsn: formatLsn(created.consistentPoint),
      session: snapshotSession(routing.sourceUrl, created.snapshotName, () => created.close()),
    };
  }
  return { consistentLsn: recorded[0]!.consistentLsn, session: await exportFreshSnapshot(routing.sourceUrl) };
}

function uniqueSources(routes: TableRoute[]) {
  const seen = new Map<string, TableRoute['source']>();
  for (const route of routes) seen.set(`${route.source.schema}.${route.source.name}`, route.source);
  return [...seen.values()];
}
