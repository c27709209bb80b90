import { CarveError } from '../errors.js';
import { teardown, type TeardownResult } from '../migrate/teardown.js';
import { atMonolith, atServer, atService, withDatabase, withSession } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import { unfreezeTables } from './freeze.js';
import { acquireCutoverLock } from './lock.js';
import type { CancelOptions } from './options.js';
import { CutoverJournal, MonolithFreezes } from './state.js';
import { readServicePhases } from './status.js';

export interface CancelResult {
  /** Services whose monolith freeze (an unfinished cutover) was removed. */
  unfrozen: string[];
  /** Services whose tables were unfrozen in their own database (left by a rollback). */
  unfrozenInService: string[];
  teardown: TeardownResult;
  /** carve's schema on the monolith was dropped. */
  monolithSchemaDropped: boolean;
  droppedDatabases: string[];
}

/**
 * Abandon a migration in which no service is cut over: remove every freeze, the slot and the
 * publication (carve teardown), carve's schema on the monolith and, with `dropDatabases`, the
 * service databases. Refuses while any service is cut over, rolling back or completed: the monolith
 * then lacks that service's writes.
 */
export async function cancel(options: CancelOptions): Promise<CancelResult> {
  const { routing } = options;
  const { stateSchema, migration } = routing.names;
  const lock = await acquireCutoverLock(routing, 'cancel', null);
  try {
    const phases = await readServicePhases(routing);
    const moved = phases.filter(
      (p) => p.phase === 'cut-over' || p.phase === 'rolling-back' || p.phase === 'completed',
    );
    if (moved.length) {
      // A completed service has no way back (its reverse stream is gone): naming `carve rollback`
      // for it would send the operator into ROLLBACK_COMPLETED.
      const completed = moved.filter((p) => p.phase === 'completed').map((p) => p.service);
      const back = moved.filter((p) => p.phase !== 'completed').map((p) => p.service);
      throw new CarveError(
        'CANCEL_SERVICE_CUT_OVER',
        `Service${moved.length > 1 ? 's' : ''} ${moved.map((p) => `${p.service} (${p.phase})`).join(', ')} left the monolith: cancelling would lose their writes`,
        {
          details: { services: moved.map((p) => ({ service: p.service, phase: p.phase })) },
          hint: completed.length
            ? `${completed.join(', ')} ${completed.length > 1 ? 'are' : 'is'} completed: the monolith no longer has ${completed.length > 1 ? 'their' : 'its'} writes, so this migration cannot be cancelled; carry it through instead (carve cutover, then carve complete, for the other services).`
            : `Roll ${back.length > 1 ? 'them' : 'it'} back first (${back.map((s) => `carve rollback --plan <file> --service ${s}`).join('; ')}), then cancel.`,
        },
      );
    }
    const freezes = new MonolithFreezes(stateSchema, migration);
    const journal = new CutoverJournal(stateSchema, migration);
    const unfrozen: string[] = [];
    const unfrozenInService: string[] = [];
    for (const p of phases) {
      const service = routing.services.find((s) => s.name === p.service)!;
      if (p.frozenOnMonolith.length) {
        const tables = await withSession(atMonolith(routing.sourceUrl), (c) => freezes.read(c, p.service));
        await unfreezeTables(
          atMonolith(routing.sourceUrl),
          tables.map((f) => f.table),
          'carve cancel',
          (c) => freezes.forget(c, p.service),
        );
        unfrozen.push(p.service);
      }
      if (p.frozenInService.length && !options.dropDatabases) {
        const tables = await withSession(atService(service.url), (c) => journal.serviceFreezes(c, p.service));
        await unfreezeTables(atService(service.url), tables, 'carve cancel', (c) =>
          journal.forgetServiceFreeze(c, p.service),
        );
        unfrozenInService.push(p.service);
      }
    }
    const down = await teardown(routing);
    const monolithSchemaDropped = await withSession(atMonolith(routing.sourceUrl), async (c) => {
      const { rows } = await c.query('SELECT pg_catalog.to_regnamespace($1) IS NOT NULL AS present', [
        quoteIdent(stateSchema),
      ]);
      if (!rows[0].present) return false;
      await c.query(`DROP SCHEMA ${quoteIdent(stateSchema)} CASCADE`);
      return true;
    });
    const droppedDatabases: string[] = [];
    if (options.dropDatabases) {
      for (const service of routing.services) {
        const server = service.serverUrl ?? service.adminUrl;
        try {
          await withSession(atServer(withDatabase(server, 'postgres')), (c) =>
            c.query(`DROP DATABASE IF EXISTS ${quoteIdent(service.database)} WITH (FORCE)`),
          );
          droppedDatabases.push(service.database);
        } catch (error) {
          if (sqlStateOf(error) !== SqlState.invalidCatalogName) throw error;
        }
      }
    }
    return { unfrozen, unfrozenInService, teardown: down, monolithSchemaDropped, droppedDatabases };
  } finally {
    await lock.release();
  }
}
