import { CarveError } from '../errors.js';
import { atMonolith, openSession } from '../pg/connect.js';
import type { Routing } from '../routing/model.js';
import { AdvisoryLock } from '../state/advisory-locks.js';

/**
 * One carve resync per table at a time (session advisory lock on the monolith; a killed process
 * loses it with its connection). Not the migration lock: carve sync holds that and keeps running.
 */
export async function acquireResyncLock(
  routing: Routing,
  table: string,
): Promise<{ release(): Promise<void> }> {
  const client = await openSession(atMonolith(routing.sourceUrl), { applicationName: 'carve resync lock' });
  const key = AdvisoryLock.resync(routing.names.migration, table);
  const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [
    key,
  ]);
  if (!rows[0].locked) {
    await client.end().catch(() => {});
    throw new CarveError('RESYNC_BUSY', `Another carve resync of ${table} is running`, {
      details: { table, migration: routing.names.migration },
      hint: 'Wait for it to finish (or stop it: a rerun starts over), then run carve resync again if needed.',
    });
  }
  return {
    async release() {
      await client.end().catch(() => {});
    },
  };
}
