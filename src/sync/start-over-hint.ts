import type { Routing } from '../routing/model.js';
import { movedPhrase, type MovedService } from './moved-services.js';

/**
 * What an operator can do once the monolith no longer holds the changes a migration's stream needs
 * (its slot dropped, or invalidated after max_slot_wal_keep_size): nothing resumes the stream, so
 * the service databases are copied afresh. Every step is a command that works as written: copy
 * refuses databases that record an earlier copy, hence they are dropped first.
 *
 * A service that left the monolith (`moved`, src/sync/moved-services.ts) is different: its
 * database holds writes the monolith does not have, and its reverse stream runs only beside the
 * forward one (carve sync refuses without the slot; teardown refuses while the slot exists). Its
 * database is never named for dropping before carve rollback has brought those writes into the
 * monolith and verified them: rollback streams them itself when no carve sync runs.
 * A completed service is no longer part of the migration: it is kept and taken out of the plan.
 */
export function startOverHint(routing: Routing, moved: readonly MovedService[] = []): string {
  const lost = 'Streaming cannot resume: the monolith no longer keeps the changes made since the copy.';
  const completed = moved.filter((m) => m.phase === 'completed');
  const back = moved.filter((m) => m.phase !== 'completed');
  const kept = new Set(completed.map((m) => m.service));
  const databases = routing.services
    .filter((s) => !kept.has(s.name))
    .map((s) => s.database)
    .join(', ');
  const fresh =
    'carve teardown --plan <plan> --yes (drops what is left of the slot and the publication), ' +
    `then drop the service databases (${databases}), then carve migrate --plan <plan>`;
  if (moved.length === 0) return `${lost} Start over with a fresh copy: ${fresh}.`;
  const parts = [lost];
  if (back.length > 0) {
    const names = back.map((m) => m.service).join(', ');
    const one = back.length === 1;
    parts.push(
      `${back.map((m) => `${movedPhrase(m)}: ${m.database} holds writes the monolith does not have`).join('; ')} ` +
        `(do not drop ${one ? 'it' : 'them'}; without the slot no stream brings ${one ? 'them' : 'theirs'} back). ` +
        `First give ${one ? 'it' : 'each'} back to the monolith: ` +
        back.map((m) => `carve rollback --plan <plan> --service ${m.service}`).join(', then ') +
        ` (while no sync runs, it streams the service's remaining writes into the monolith itself and verifies them; ` +
        `${names} then ${one ? 'writes' : 'write'} to the monolith again).`,
    );
  }
  if (completed.length > 0) {
    parts.push(
      `${completed.map((m) => `${m.service} is completed: keep ${m.database}`).join('; ')}, ` +
        `and use a plan without ${completed.length === 1 ? 'it' : 'them'} for the commands below (docs/cutover.md, Complete).`,
    );
  }
  parts.push(
    `${back.length > 0 ? 'Once every rollback has succeeded (the monolith then holds all of the writes), start over' : 'Start over'} ` +
      `with a fresh copy: ${fresh}` +
      (back.length > 0 ? `, and cut ${back.map((m) => m.service).join(', ')} over again when ready.` : '.'),
  );
  return parts.join(' ');
}
