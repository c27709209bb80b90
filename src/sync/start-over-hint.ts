import type { Routing } from '../routing/model.js';

/**
 * What an operator can do once the monolith no longer holds the changes a migration's stream needs
 * (its slot dropped, or invalidated after max_slot_wal_keep_size): nothing resumes the stream, so
 * the service databases are copied afresh. Every step is a command that works as written: copy
 * refuses databases that record an earlier copy, hence they are dropped first.
 */
export function startOverHint(routing: Routing): string {
  const databases = routing.services.map((s) => s.database).join(', ');
  return (
    'Streaming cannot resume: the monolith no longer keeps the changes made since the copy. ' +
    'Start over with a fresh copy: carve teardown --plan <plan> --yes (drops what is left of the slot and the publication), ' +
    `then drop the service databases (${databases}), then carve migrate --plan <plan>.`
  );
}
