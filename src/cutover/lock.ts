import { CarveError } from '../errors.js';
import { atMonolith, openSession } from '../pg/connect.js';
import type { Routing } from '../routing/model.js';
import { AdvisoryLock } from '../state/advisory-locks.js';

export type CutoverCommand = 'cutover' | 'rollback' | 'complete' | 'cancel';

/**
 * One service changes hands at a time: a session-level advisory lock on the monolith for the life
 * of carve cutover / rollback / complete / cancel (the migration lock stays free for carve sync,
 * which runs beside them). Disappears with the connection, so a killed command never leaves it.
 */
export async function acquireCutoverLock(
  routing: Routing,
  command: CutoverCommand,
  service: string | null,
): Promise<{ release(): Promise<void> }> {
  const client = await openSession(atMonolith(routing.sourceUrl), {
    applicationName: `carve ${command}${service ? ` ${service}` : ''} (${routing.names.migration})`,
  });
  try {
    const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [
      AdvisoryLock.cutover(routing.names.migration),
    ]);
    if (!rows[0].ok) {
      const holder = await client.query(
        `SELECT a.pid, a.application_name FROM pg_catalog.pg_locks l
           JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND l.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
            AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid
          LIMIT 1`,
        [AdvisoryLock.cutover(routing.names.migration)],
      );
      const who = holder.rows[0] as { pid: number; application_name: string } | undefined;
      throw new CarveError(
        'CUTOVER_BUSY',
        `Another cutover, rollback, complete or cancel of migration "${routing.names.migration}" is running${who ? ` (${who.application_name}, backend pid ${who.pid})` : ''}`,
        {
          details: {
            migration: routing.names.migration,
            pid: who?.pid ?? null,
            application: who?.application_name ?? null,
          },
          hint: 'One service changes hands at a time: wait for that command to finish, then run this one again.',
        },
      );
    }
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return {
    async release() {
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
