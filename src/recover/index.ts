import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { CarveError, isCarveError } from '../errors.js';
import { atMonolith, atService, openSession, withSession, type Client } from '../pg/connect.js';
import { parseLsn } from '../pg/lsn.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { advanceSequencesPastMax } from '../pg/sequences.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import { dropReverse, prepareReverse, readReverseStatus } from '../reverse/index.js';
import { reverseMapOf, type ReverseTable } from '../routing/reverse-map.js';
import { replicationOriginName, setUpReplicationOrigin } from '../sync/replication-origin.js';
import { verify } from '../verify/index.js';
import { pinSessionSettings } from '../verify/session-settings.js';
import type { RecoverResult, RecoverTableResult } from './events.js';
import type { RecoverOptions } from './options.js';
import { serviceToRecover } from './preflight.js';
import { recoverTableSql } from './table-sql.js';

export type * from './events.js';
export type { RecoverOptions } from './options.js';
export { recoverTableSql, type RecoverTableSql } from './table-sql.js';

/**
 * `carve recover`: when reverse replication is broken or never ran, make the monolith's copy of a
 * service's owned tables equal to the service database again (the CareSync plan's
 * recover_from_services(), done safely):
 *
 * 1. one REPEATABLE READ READ ONLY transaction on the service database: every table is read from
 *    the same snapshot, so the rows agree with each other;
 * 2. one monolith transaction, under carve's reverse replication origin for this service (the
 *    forward stream treats these writes as the service's own and does not send them back to it,
 *    but still feeds other services' projections) and with session_replication_role = replica (a
 *    cutover freeze trigger does not stop it; foreign keys are not checked, as in replication):
 *    each table is staged, monolith rows whose key the service no longer has are deleted
 *    (referencing tables first), new keys inserted and changed rows updated (referenced tables
 *    first) — columns the plan dropped keep their monolith values;
 * 3. before the commit, every table is checked: count and hash of the mapped columns equal on
 *    the monolith and in the stage, else RECOVER_CHECK_FAILED and nothing is committed;
 * 4. after it, monolith sequences move past the largest recovered value, and the verify engine
 *    compares the service's tables.
 *
 * A registered reverse stream whose slot is gone (REVERSE_SLOT_MISSING) is set up again before
 * step 1 (not in a dry run): the new slot carries every service commit after it, the copy all
 * before it.
 *
 * One transaction: a crash (kill -9) at any point leaves the monolith as it was, and a rerun
 * converges. The reverse origin can be held by one session only, so a running reverse stream (or
 * a second recover) makes this fail fast with RECOVER_REVERSE_RUNNING.
 */
export async function recover(options: RecoverOptions): Promise<RecoverResult> {
  const started = Date.now();
  const { routing } = options;
  const emit = options.onEvent ?? (() => {});
  const app = options.applicationName ?? 'carve recover';
  const service = serviceToRecover(routing, options.service);
  const map = reverseMapOf(routing, service.name);
  const origin = replicationOriginName(routing.names.migration, 'rev', service.database);
  const dryRun = options.dryRun === true;

  const monolith = await openSession(atMonolith(routing.sourceUrl), { applicationName: app });
  let reader: Client | undefined;
  try {
    await pinSessionSettings(monolith);
    await takeOrigin(monolith, origin, service.database, options.originWaitMs ?? 2000);
    emit({ type: 'recover-started', service: service.name, database: service.database, origin, dryRun });
    // Before the snapshot below: every service commit after the new slot's start reaches the
    // monolith through it, so none falls between what recover copies and what the stream brings
    // (those in between are replayed over the copied rows; the appliers write by key).
    const reverseRestarted = dryRun ? null : await restartLostReverse(routing, service.name);
    if (reverseRestarted) emit({ type: 'recover-reverse-restarted', ...reverseRestarted });

    reader = await openSession(atService(service.url), { applicationName: app });
    await pinSessionSettings(reader);
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The snapshot is taken by the first statement: every table below is read from it.
    await reader.query('SELECT 1');

    await monolith.query('BEGIN');
    const tables: RecoverTableResult[] = [];
    try {
      await setReplicaRole(monolith);
      const staged = map.tables.map((table, i) => ({
        table,
        sql: recoverTableSql(table, `carve_recover_${i}`),
      }));
      const rows = new Map<ReverseTable, number>();
      for (const { table, sql } of staged) {
        await monolith.query(sql.createStage);
        await pipeline(reader.query(copyTo(sql.readService)), monolith.query(copyFrom(sql.writeStage)));
        await monolith.query(sql.analyzeStage);
        rows.set(table, Number((await monolith.query(sql.countStage)).rows[0].n));
      }
      const deleted = new Map<ReverseTable, number>();
      for (const { table, sql } of [...staged].reverse())
        deleted.set(
          table,
          Number((await write(monolith, sql.deleteMissing, table, service.database)).rows[0].n),
        );
      for (const { table, sql } of staged) {
        const upserted = (await write(monolith, sql.upsert, table, service.database)).rows[0];
        const result: RecoverTableResult = {
          serviceTable: `${table.serviceTable.schema}.${table.serviceTable.name}`,
          monolithTable: `${table.monolithTable.schema}.${table.monolithTable.name}`,
          rows: rows.get(table) ?? 0,
          inserted: Number(upserted.inserted),
          updated: Number(upserted.updated),
          deleted: deleted.get(table) ?? 0,
        };
        tables.push(result);
        emit({ type: 'recover-table', ...result });
      }
      for (const { table, sql } of staged) {
        const [mono, stage] = [
          (await monolith.query(sql.checksumMonolith)).rows[0],
          (await monolith.query(sql.checksumStage)).rows[0],
        ];
        if (mono.n !== stage.n || mono.h !== stage.h) {
          const always = await alwaysTriggers(monolith, table);
          throw new CarveError(
            'RECOVER_CHECK_FAILED',
            `After recovering ${table.monolithTable.schema}.${table.monolithTable.name} from ${service.database}, the monolith holds ${mono.n} rows and the service ${stage.n}, or their values differ`,
            {
              details: {
                service: service.name,
                table: `${table.monolithTable.schema}.${table.monolithTable.name}`,
                monolithRows: Number(mono.n),
                serviceRows: Number(stage.n),
                alwaysTriggers: always,
              },
              hint: recoverCheckHint(table, always),
            },
          );
        }
      }
      if (dryRun) {
        await monolith.query('ROLLBACK');
        emit({ type: 'recover-rolled-back', reason: 'dry-run' });
      } else {
        await monolith.query('COMMIT');
        emit({ type: 'recover-committed', seconds: (Date.now() - started) / 1000 });
      }
    } catch (error) {
      await monolith.query('ROLLBACK').catch(() => {});
      throw error;
    }
    await reader.query('COMMIT').catch(() => {});

    const sequences: { sequence: string; value: string }[] = [];
    if (!dryRun) {
      // Outside the transaction: setval is not transactional, and a sequence only moves forward.
      for (const table of map.tables)
        sequences.push(...(await advanceSequencesPastMax(monolith, table.monolithTable)));
      emit({ type: 'recover-sequences', moved: sequences });
    }
    await monolith.query('SELECT pg_catalog.pg_replication_origin_session_reset()').catch(() => {});

    let verified: RecoverResult['verify'] = null;
    let verifyError: RecoverResult['verifyError'] = null;
    if (!dryRun && options.verify !== false && map.tables.length > 0) {
      try {
        verified = await verify({
          routing,
          tables: map.tables.map((t) => t.routeId),
          alignment: 'assume-static',
          sequences: 'advisory',
          applicationName: `${app} verify`,
        });
        emit({ type: 'recover-verified', ok: verified.ok });
      } catch (error) {
        // The recover is committed and was checked in its transaction: a verify that cannot run
        // is reported, not turned into a failure of what already succeeded.
        if (!isCarveError(error)) throw error;
        verifyError = { code: error.code, message: error.message, hint: error.hint ?? null };
      }
    }
    const totals = tables.reduce(
      (sum, t) => ({
        rows: sum.rows + t.rows,
        inserted: sum.inserted + t.inserted,
        updated: sum.updated + t.updated,
        deleted: sum.deleted + t.deleted,
      }),
      { rows: 0, inserted: 0, updated: 0, deleted: 0 },
    );
    return {
      service: service.name,
      database: service.database,
      origin,
      dryRun,
      tables,
      totals,
      reverseRestarted,
      sequences,
      verify: verified,
      verifyError,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (reader) await reader.end().catch(() => {});
    await monolith.end().catch(() => {});
  }
}

/**
 * A registered reverse stream whose slot is gone (dropped, or a failover of the service database)
 * cannot resume: its changes since are lost to it. Nor can one whose position on the monolith is
 * behind its slot (the monolith restored from an older backup: REVERSE_TARGET_BEHIND_SLOT). Set it
 * up again from now (registration, slot, publication); recover's copy of the service's rows covers
 * what the old slot lost.
 */
async function restartLostReverse(
  routing: RecoverOptions['routing'],
  service: string,
): Promise<{ slot: string; startLsn: string } | null> {
  const status = await readReverseStatus(routing, service);
  if (!status.registered) return null;
  if (status.slotExists) {
    const route = serviceToRecover(routing, service);
    const confirmed = await withSession(atService(route.adminUrl), async (client) => {
      const { rows } = await client.query<{ lsn: string | null }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = $1',
        [status.slot],
      );
      return rows[0]?.lsn ?? null;
    });
    const behind =
      confirmed !== null && status.appliedLsn !== null && parseLsn(status.appliedLsn) < parseLsn(confirmed);
    if (!behind) return null;
  }
  await dropReverse(routing, service);
  const prepared = await prepareReverse(routing, service);
  return { slot: prepared.slot, startLsn: prepared.startLsn };
}

async function takeOrigin(client: Client, origin: string, database: string, waitMs: number): Promise<void> {
  try {
    await setUpReplicationOrigin(client, origin, { database, waitMs });
  } catch (error) {
    if (isCarveError(error, 'SYNC_ORIGIN_BUSY'))
      throw new CarveError(
        'RECOVER_REVERSE_RUNNING',
        `Replication origin ${origin} is in use: a reverse stream into the monolith, or another carve recover, runs for ${database}`,
        {
          details: { origin, database },
          hint: 'Recover is for a reverse stream that is broken or never ran: stop the carve sync that runs it (or wait for the other recover to end), then run carve recover again.',
          cause: error,
        },
      );
    throw error;
  }
}

/** A write that breaks a monolith constraint names the table and what to do (nothing is committed). */
async function write(client: Client, sql: string, table: ReverseTable, database: string) {
  try {
    return await client.query(sql);
  } catch (error) {
    const state = sqlStateOf(error);
    if (state?.startsWith('23'))
      throw new CarveError(
        'RECOVER_CONSTRAINT_VIOLATION',
        `Writing ${database}'s rows into ${table.monolithTable.schema}.${table.monolithTable.name} breaks a constraint of the monolith: ${(error as Error).message}`,
        {
          details: {
            table: `${table.monolithTable.schema}.${table.monolithTable.name}`,
            serviceTable: `${table.serviceTable.schema}.${table.serviceTable.name}`,
            sqlState: state,
            constraint: (error as { constraint?: string }).constraint ?? null,
          },
          hint: 'Nothing was committed. The monolith has a constraint (a unique index, a check) the service database lacks, and the service holds rows that break it: fix those rows in the service database (the message names the values), then run carve recover again.',
          cause: error,
        },
      );
    throw error;
  }
}

async function setReplicaRole(client: Client): Promise<void> {
  try {
    await client.query(`SET LOCAL session_replication_role = replica`);
  } catch (error) {
    if (sqlStateOf(error) === SqlState.insufficientPrivilege)
      throw new CarveError(
        'RECOVER_REPLICA_ROLE_DENIED',
        "carve's monolith user may not set session_replication_role",
        {
          details: { setting: 'session_replication_role' },
          hint: "As a superuser on the monolith, run GRANT SET ON PARAMETER session_replication_role TO the user of the plan's source URL (PostgreSQL 15+), then run carve recover again.",
          cause: error,
        },
      );
    throw error;
  }
}

/**
 * Triggers of a monolith table that fire even under session_replication_role = replica (ENABLE
 * ALWAYS): the only ones that run for recover's writes, so the usual reason rows come out changed.
 */
async function alwaysTriggers(monolith: Client, table: ReverseTable): Promise<string[]> {
  const { rows } = await monolith.query(
    `SELECT tgname FROM pg_catalog.pg_trigger
      WHERE tgrelid = $1::regclass AND tgenabled = 'A' AND NOT tgisinternal ORDER BY tgname`,
    [quoteQualified(table.monolithTable.schema, table.monolithTable.name)],
  );
  return rows.map((r) => r.tgname as string);
}

function recoverCheckHint(table: ReverseTable, always: string[]): string {
  const name = quoteQualified(table.monolithTable.schema, table.monolithTable.name);
  if (always.length > 0) {
    const enable = (how: string) =>
      always.map((t) => `ALTER TABLE ${name} ENABLE ${how}TRIGGER ${quoteIdent(t)};`).join(' ');
    return (
      `Nothing was committed. ${always.join(', ')} on ${name} fire${always.length === 1 ? 's' : ''} even for carve's writes (ENABLE ALWAYS) and changed the recovered rows: ` +
      `run ${enable('')} on the monolith (they then fire for the application only), then carve recover again; ` +
      `afterwards ${enable('ALWAYS ')} if they must fire for replication too.`
    );
  }
  return 'Nothing was committed. Another session may have written the table during the recover (run it again once the application writes only to the service), or a rule changed the rows: run carve verify --tables for this table to see the keys, then carve recover again.';
}
