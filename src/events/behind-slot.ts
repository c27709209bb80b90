import { CarveError } from '../errors.js';
import { atService, withSession } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import type { Routing } from '../routing/model.js';
import { CopyLog } from '../state/copy-log.js';

/**
 * The copy's consistent point as the service databases record it (one slot, one copy: the same in
 * each; the latest if they disagree, so an earlier run's position never passes for this one's).
 * Null when no service database records a copy of this migration.
 */
export async function copyConsistentPoint(routing: Routing): Promise<Lsn | null> {
  const log = new CopyLog(routing.names.stateSchema, routing.names.migration);
  let latest: Lsn | null = null;
  for (const service of routing.services) {
    const record = await withSession(atService(service.url), (client) => log.readMigration(client));
    if (!record) continue;
    const lsn = parseLsn(record.consistentLsn);
    if (latest === null || lsn > latest) latest = lsn;
  }
  return latest;
}

/**
 * Where a Kafka publisher resumes: its last committed checkpoint when that belongs to this copy
 * and is not behind the slot, the slot's position when it never published in this copy (no
 * checkpoint, or an earlier run's), and EVENTS_BEHIND_SLOT (thrown) when the slot passed it.
 */
export async function resumeFromCheckpoint(
  routing: Routing,
  sink: string,
  topic: string,
  checkpoint: { lsn: Lsn; commitTime: string | null } | undefined,
  slotLsn: Lsn,
): Promise<{ lsn: Lsn; commitTime: string | null }> {
  // Never published: start where the slot is (what came before was copied, not streamed).
  if (!checkpoint) return { lsn: slotLsn, commitTime: null };
  if (checkpoint.lsn >= slotLsn) return checkpoint;
  const copy = await copyConsistentPoint(routing);
  if (copy === null || checkpoint.lsn < copy) return { lsn: slotLsn, commitTime: null };
  throw eventsBehindSlotError(routing, sink, topic, checkpoint.lsn, slotLsn)!;
}

/**
 * The server starts a logical stream at max(requested position, the slot's confirmed_flush_lsn)
 * and says nothing about what it skipped. A publisher whose checkpoint P is behind the slot's
 * position C would resume at C: the changes committed in [P, C) would never reach the topics, with
 * nothing to show for it. That happens when something acknowledged the slot without this
 * publisher: a carve sync while the plan had no events.kafka, or an engine started without the
 * event sinks. A publisher of this migration that shares the stream never causes it (the slot is
 * acknowledged with the minimum durable position over every sink).
 *
 * A checkpoint older than the copy's consistent point is an earlier run's (a migration started
 * over under the same name): this copy's events start at its slot, as if never published.
 *
 * Returns the error to stop with, or null.
 */
export function eventsBehindSlotError(
  routing: Routing,
  sink: string,
  topic: string,
  checkpoint: Lsn,
  slotLsn: Lsn,
): CarveError | null {
  if (checkpoint >= slotLsn) return null;
  const { slot } = routing.names;
  const databases = routing.services.map((s) => s.database).join(', ');
  return new CarveError(
    'EVENTS_BEHIND_SLOT',
    `The ${sink} publisher's last checkpoint (${topic}) is at ${formatLsn(checkpoint)}, but replication slot ${slot} ` +
      `is at ${formatLsn(slotLsn)}: the changes committed in between were acknowledged without being published, ` +
      `and publishing from there would leave them out of the topics`,
    {
      details: {
        sink,
        checkpointTopic: topic,
        checkpointLsn: formatLsn(checkpoint),
        slot,
        slotLsn: formatLsn(slotLsn),
      },
      hint:
        `Something moved the slot without the publisher (a carve sync while the plan had no events.kafka), and the ` +
        `slot cannot replay what it passed: the topics lack those changes for good. Republish every row with a fresh ` +
        `copy: set events.snapshot: true in the plan, then carve teardown --plan <plan> --yes, then drop the service ` +
        `databases (${databases}), then carve migrate --plan <plan>. The new copy publishes each row as a read (op r) ` +
        `before any later change event of its partition; consumers rebuild from those reads on (the old events stay ` +
        `in the topics: delete the topics before carve migrate if consumers must not see them).`,
    },
  );
}
