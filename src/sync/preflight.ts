import { CarveError } from '../errors.js';
import { atService, databaseOf, redactUrl, withSession } from '../pg/connect.js';
import { slotInfo } from '../pg/replication/slot.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { movedSuffix, readMovedServices } from './moved-services.js';
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
          hint: 'The service databases were copied by another plan: use that plan, or drop the service databases and run carve migrate --plan <plan> again (provision keeps tables it finds, so they must go first).',
        },
      );
    }
  }
  const slot = await slotInfo(routing.sourceUrl, names.slot);
  const lost =
    !slot.exists || slot.walStatus === 'lost' || slot.slotType !== 'logical' || slot.plugin !== 'pgoutput';
  // Services that left the monolith change the way out (their databases hold the truth), and the
  // operator must see them named: read only when the stream cannot resume.
  const moved = lost ? await readMovedServices(routing) : [];
  const cutOver = moved.map((m) => ({ service: m.service, database: m.database, phase: m.phase }));
  if (!slot.exists) {
    throw new CarveError(
      'SYNC_SLOT_MISSING',
      `Replication slot ${names.slot} does not exist on the monolith${movedSuffix(moved)}`,
      {
        details: { slot: names.slot, cutOver },
        hint: startOverHint(routing, moved),
      },
    );
  }
  if (slot.walStatus === 'lost') {
    throw new CarveError(
      'SYNC_SLOT_LOST',
      `Replication slot ${names.slot} lost WAL it needed (wal_status = lost)${movedSuffix(moved)}`,
      {
        details: { slot: names.slot, walStatus: slot.walStatus, cutOver },
        hint: `The monolith removed WAL the slot had not consumed (max_slot_wal_keep_size). ${startOverHint(routing, moved)}`,
      },
    );
  }
  // The stream checks these too (pg/replication/stream-preflight.ts); here the plan is known, so
  // the hints can say what to do with it.
  if (slot.slotType !== 'logical' || slot.plugin !== 'pgoutput') {
    throw new CarveError(
      'REPLICATION_SLOT_WRONG_PLUGIN',
      `Replication slot ${names.slot} on the monolith is a ${slot.slotType} slot with plugin ${slot.plugin ?? 'none'}, not the logical pgoutput slot carve copy created${movedSuffix(moved)}`,
      {
        details: { slot: names.slot, slotType: slot.slotType, plugin: slot.plugin, cutOver },
        hint: `Another tool made a slot under carve's name after carve's own was dropped: the changes made since the copy are lost. ${startOverHint(routing, moved)}`,
      },
    );
  }
  const database = databaseOf(routing.sourceUrl);
  if (database !== undefined && slot.database !== database) {
    throw new CarveError(
      'REPLICATION_SLOT_WRONG_DATABASE',
      `Replication slot ${names.slot} belongs to database ${slot.database}, but the plan's source names ${database}`,
      {
        details: { slot: names.slot, database: slot.database, source: database },
        hint: `The copy was taken from database ${slot.database}: point the plan's source URL at database ${slot.database} (not ${database}), then run the command again.`,
      },
    );
  }
}
