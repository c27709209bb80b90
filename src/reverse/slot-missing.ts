import { CarveError } from '../errors.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { ServiceRoute } from '../routing/model.js';

/**
 * What to do when a registered reverse stream's slot is gone from the service database (dropped,
 * or a failover): the changes since are lost to the stream, and a new slot alone would skip them.
 * carve recover sets the stream up again and copies the service's rows back (src/recover).
 * `plan` is the placeholder the caller's output replaces with the plan file.
 */
export function lostReverseSlotHint(service: string, plan = '<file>'): string {
  return `With no carve sync running, carve recover --plan ${plan} --service ${service} --yes: it sets the reverse stream up again and copies the service's rows back into the monolith; then start carve sync.`;
}

export function reverseSlotMissing(
  service: Pick<ServiceRoute, 'name' | 'database'>,
  slot: string,
): CarveError {
  return new CarveError(
    'REVERSE_SLOT_MISSING',
    `The reverse stream of ${service.name} is registered, but its slot ${slot} is gone from ${service.database}`,
    {
      details: { service: service.name, database: service.database, slot },
      hint: lostReverseSlotHint(service.name),
    },
  );
}

/**
 * The monolith's recorded position of a reverse stream is behind where the service database's
 * slot resumes: the server would start at the slot and the service's commits in between would
 * never reach the monolith, silently. The slot never passes what the monolith applied (it is
 * acknowledged with that durable position), so the monolith's position went back: it was restored
 * from an older backup (its rows with it). carve recover copies the service's rows back and sets
 * the stream up again from there.
 */
export function reverseBehindSlot(
  service: Pick<ServiceRoute, 'name' | 'database'>,
  slot: string,
  applied: Lsn,
  slotLsn: Lsn,
): CarveError {
  return new CarveError(
    'REVERSE_TARGET_BEHIND_SLOT',
    `The monolith has applied ${service.name}'s reverse stream up to ${formatLsn(applied)} of ${service.database}, ` +
      `but its slot ${slot} is at ${formatLsn(slotLsn)}: streaming from there would skip the service's commits in between`,
    {
      details: {
        service: service.name,
        database: service.database,
        slot,
        appliedLsn: formatLsn(applied),
        slotLsn: formatLsn(slotLsn),
      },
      hint:
        `The monolith's position went back (restored from an older backup?) and the slot cannot replay what it passed. ` +
        lostReverseSlotHint(service.name),
    },
  );
}
