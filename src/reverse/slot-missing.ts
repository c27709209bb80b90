import { CarveError } from '../errors.js';
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
