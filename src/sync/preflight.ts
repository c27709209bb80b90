import { CarveError } from '../errors.js';
import { atService, redactUrl, withSession } from '../pg/connect.js';
import { slotInfo } from '../pg/replication/slot.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { startOverHint } from './start-over-hint.js';
import { SyncState } from './state.js';

/**
 * Everything that must hold before sync writes anything: every target database records a finished
 * copy of this migration (same slot and publication), and the slot exists on the monolith.
 */
export async function checkSyncPreconditions(
  routing: Routing,
  options: { loadedOnly?: boolean } = {},
): Promise<void> {
  const { names } = routing;
  const state = new SyncState(names.stateSchema, names.migration);
  for (const service of routing.services) {
    let migration: Awaited<ReturnType<SyncState['readMigration']>>;
    try {
      migration = await withSession(atService(service.url), (client) => state.readMigration(client));
    } catch (error) {
      if (sqlStateOf(error) === SqlState.invalidCatalogName) {
        throw new CarveError(
          'TARGET_NOT_PROVISIONED',
          `Database ${service.database} does not exist on ${redactUrl(service.url)}`,
          {
            details: { database: service.database },
            hint: 'Run `carve provision` and `carve copy` first.',
            cause: error,
          },
        );
      }
      throw error;
    }
    if (!migration) {
      throw new CarveError(
        'SYNC_NOT_COPIED',
        `${service.database} has no copy of migration "${names.migration}"`,
        {
          details: { database: service.database, migration: names.migration },
          hint: 'Run `carve copy --plan <file>` first; sync streams the changes made after the copy snapshot.',
        },
      );
    }
    if (!migration.copyFinished && !options.loadedOnly) {
      throw new CarveError('SYNC_COPY_UNFINISHED', `The copy into ${service.database} has not finished`, {
        details: { database: service.database, migration: names.migration },
        hint: 'Run `carve copy --plan <file> --resume` until it completes, then carve sync.',
      });
    }
    if (migration.slot !== names.slot || migration.publication !== names.publication) {
      throw new CarveError(
        'SYNC_STATE_MISMATCH',
        `${service.database} records slot ${migration.slot}, the plan names ${names.slot}`,
        {
          details: {
            database: service.database,
            recordedSlot: migration.slot,
            slot: names.slot,
            publication: migration.publication,
          },
          hint: 'The service databases were copied by another plan; use that plan, or re-provision and copy again.',
        },
      );
    }
  }
  const slot = await slotInfo(routing.sourceUrl, names.slot);
  if (!slot.exists) {
    throw new CarveError(
      'SYNC_SLOT_MISSING',
      `Replication slot ${names.slot} does not exist on the monolith`,
      {
        details: { slot: names.slot },
        hint: startOverHint(routing),
      },
    );
  }
  if (slot.walStatus === 'lost') {
    throw new CarveError(
      'SYNC_SLOT_LOST',
      `Replication slot ${names.slot} lost WAL it needed (wal_status = lost)`,
      {
        details: { slot: names.slot, walStatus: slot.walStatus },
        hint: `The monolith removed WAL the slot had not consumed (max_slot_wal_keep_size). ${startOverHint(routing)}`,
      },
    );
  }
}
