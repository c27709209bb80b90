import { CarveError } from '../errors.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { Routing } from '../routing/model.js';
import type { MovedService } from './moved-services.js';
import { startOverHint } from './start-over-hint.js';

/** A service database whose applied position is behind where the slot resumes. */
export interface BehindTarget {
  database: string;
  applied: Lsn;
}

/**
 * The server starts a logical stream at max(requested position, the slot's confirmed_flush_lsn)
 * and says nothing about what it skipped. A service database applied in process from a position
 * P behind the slot's position C would silently miss every change committed in [P, C): the slot
 * was acknowledged past them without this database having them. That happens when the slot was
 * moved by a sync that did not apply this database (`carve sync --sink kafka-only` while `carve
 * apply` lags, or `--sink events-only` to NATS), or when the database was restored from an older
 * backup. In-process appliers never cause it: the slot is acknowledged with the minimum durable
 * position over every sink, so C <= P for each of them (a freshly copied database starts at the
 * copy's consistent point, which is where the new slot is).
 *
 * Returns the error to stop with, or null when no target is behind. `moved`: the services that left
 * the monolith (src/sync/moved-services.ts), whose databases the start-over recipe must keep.
 */
export function behindSlotError(
  routing: Routing,
  behind: readonly BehindTarget[],
  slotLsn: Lsn,
  moved: readonly MovedService[] = [],
): CarveError | null {
  if (behind.length === 0) return null;
  const { slot } = routing.names;
  const services = behind.map((b) => routing.services.find((s) => s.database === b.database));
  const listed = behind.map((b) => `${b.database} has applied up to ${formatLsn(b.applied)}`).join(', ');
  const kafka = routing.events?.kafka !== undefined;
  const apply = services
    .map(
      (s, i) =>
        `carve apply --plan <plan> --from kafka --service ${s?.name ?? behind[i]!.database} --until-caught-up`,
    )
    .join(', then ');
  const hint = kafka
    ? `The changes in between were acknowledged on the slot without being applied here (carve sync --sink kafka-only ` +
      `published them to Kafka while carve apply was behind, or the database was restored from an older backup). ` +
      `Stop any carve sync --sink kafka-only, apply them from Kafka: ${apply}, then run carve sync --plan <plan> again. ` +
      `If the topics do not hold them (never published to Kafka, or removed by retention), nothing can bring them back: ${startOverHint(routing, moved)}`
    : `The changes in between were acknowledged on the slot without being applied here (carve sync --sink events-only ` +
      `publishes them to NATS, which carve apply does not read; or the database was restored from an older backup), ` +
      `and nothing can bring them back. ${startOverHint(routing, moved)}`;
  return new CarveError(
    'SYNC_TARGET_BEHIND_SLOT',
    `${listed}, but replication slot ${slot} is at ${formatLsn(slotLsn)}: applying in process from there would skip the changes in between`,
    {
      details: {
        database: behind[0]!.database,
        appliedLsn: formatLsn(behind[0]!.applied),
        slot,
        slotLsn: formatLsn(slotLsn),
        behind: behind.map((b) => ({ database: b.database, appliedLsn: formatLsn(b.applied) })),
        cutOver: moved.map((m) => ({ service: m.service, database: m.database, phase: m.phase })),
      },
      hint,
    },
  );
}
