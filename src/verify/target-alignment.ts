import { CarveError, isCarveError } from '../errors.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { quoteQualified } from '../pg/quote.js';
import { slotInfo, type SlotInfo } from '../pg/replication/slot.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import { acquireMigrationLock, type MigrationLock } from '../state/migration-lock.js';
import { requestHold } from '../sync/hold-request.js';
import { startSync } from '../sync/index.js';
import type { SinkFactory } from '../sync/sink.js';
import { behindSlotError } from '../sync/behind-slot.js';
import { readMovedServices } from '../sync/moved-services.js';
import { startOverHint } from '../sync/start-over-hint.js';
import { describeBlocker, endTransactionsAction, lockBlockersOfCarve } from '../pg/wait-blockers.js';
import { peekRelevantCommits, type PeekWindow } from './slot-peek.js';
import { monolithPoint, type MonolithPoint } from './snapshot-pool.js';
import type { AlignmentMethod } from './events.js';
import type { HoldProvider } from './options.js';

/**
 * Aligning the targets with the monolith's snapshot.
 *
 * The monolith side is exact by construction: a temporary logical slot's exported snapshot sees
 * precisely the transactions that commit before its consistent point L (the guarantee copy relies
 * on too). The targets must then hold precisely those transactions:
 *
 * - hold-api / hold-table (a sync is running, in this process or in another one): the sync is
 *   asked to stop every target just before L — every transaction with commit LSN < L applied, none
 *   at or after it. The slot is created *inside* the hold request (engine.holdAt(fn) /
 *   requestHold({ choose })), while the sync cannot apply anything, so L is never behind what a
 *   target already applied. The sync pauses only until each target's snapshot is taken.
 * - positions (no sync running; verify holds the migration lock meanwhile so none starts): each
 *   target's apply_position P says which monolith commits it holds. The targets are accepted only
 *   if no transaction committed between P and L changed one of their tables — read from the
 *   migration's slot without consuming it. Otherwise VERIFY_TARGETS_BEHIND, or, with `catchUp`,
 *   a sync engine is run in this process and held at L (which writes the pending changes).
 * - assumed: the caller states that nothing writes (frozen monolith, tests).
 */
export interface AlignmentContext {
  routing: Routing;
  services: ServiceRoute[];
  routes: TableRoute[];
  mode: 'auto' | 'assume-static';
  sync?: HoldProvider;
  catchUp: boolean;
  /** Sinks besides the service databases for the catch-up engine (the plan's event publishers). */
  catchUpSinks: SinkFactory[];
  /** Bounds every wait of the alignment together: the monolith snapshot and the hold. */
  holdTimeoutMs: number;
  applicationName: string;
  requestedBy: string;
  signal?: AbortSignal;
}

export interface Aligned {
  method: AlignmentMethod;
  point: MonolithPoint;
  /** Call as soon as the target snapshots are taken: releases the hold or the migration lock. */
  release(): Promise<void>;
}

export async function alignTargets(context: AlignmentContext): Promise<Aligned> {
  const deadline = Date.now() + context.holdTimeoutMs;
  const ctx: Ctx = { ...context, remainingMs: () => Math.max(1000, deadline - Date.now()) };
  const source = ctx.routing.sourceUrl;
  if (ctx.mode === 'assume-static') {
    return {
      method: 'assumed',
      point: await monolithPoint(source, ctx.applicationName),
      release: async () => {},
    };
  }
  if (ctx.sync) return holdWithApi(ctx, ctx.sync, 'hold-api', async () => {});
  let lock: MigrationLock;
  try {
    lock = await acquireMigrationLock(source, ctx.routing.names.migration, 'verify');
  } catch (error) {
    if (!isCarveError(error, 'MIGRATION_LOCKED')) throw error;
    const { holder } = error.details;
    if (holder?.command !== 'sync') {
      throw new CarveError(
        'VERIFY_MIGRATION_BUSY',
        `Migration "${ctx.routing.names.migration}" is busy: ${error.message}`,
        {
          details: { migration: ctx.routing.names.migration, holder },
          hint: 'verify runs alongside carve sync (it holds it at a consistent point); wait for the other command to finish.',
        },
      );
    }
    return holdWithTable(ctx);
  }
  let point: MonolithPoint | undefined;
  try {
    point = await monolithPoint(source, ctx.applicationName, { timeoutMs: ctx.remainingMs() });
    await checkPositions(ctx, point.lsn);
    return { method: 'positions', point, release: () => lock.release() };
  } catch (error) {
    await point?.close();
    await lock.release();
    if (!ctx.catchUp || !isCarveError(error, 'VERIFY_TARGETS_BEHIND')) throw error;
  }
  // Catch up in this process: the engine takes the migration lock itself.
  const engine = await startSync({
    routing: ctx.routing,
    sinks: ctx.catchUpSinks,
    applicationName: `carve sync (${ctx.routing.names.migration}) for verify`,
  });
  try {
    return await holdWithApi(ctx, engine, 'catch-up', async () => void (await engine.stop()));
  } catch (error) {
    await engine.stop().catch(() => {});
    throw error;
  }
}

type Ctx = AlignmentContext & { remainingMs: () => number };

async function holdWithApi(
  ctx: Ctx,
  sync: HoldProvider,
  method: AlignmentMethod,
  after: () => Promise<void>,
): Promise<Aligned> {
  let point: MonolithPoint | undefined;
  const choose = async () => {
    await point?.close();
    point = await monolithPoint(ctx.routing.sourceUrl, ctx.applicationName, { timeoutMs: ctx.remainingMs() });
    return point.lsn;
  };
  try {
    await withTimeout(sync.holdAt(choose), ctx);
  } catch (error) {
    sync.release();
    await point?.close();
    throw error;
  }
  return {
    method,
    point: point!,
    release: async () => {
      sync.release();
      await after();
    },
  };
}

async function holdWithTable(ctx: Ctx): Promise<Aligned> {
  let point: MonolithPoint | undefined;
  const choose = async () => {
    await point?.close();
    point = await monolithPoint(ctx.routing.sourceUrl, ctx.applicationName, { timeoutMs: ctx.remainingMs() });
    return point.lsn;
  };
  try {
    const handle = await requestHold(ctx.routing, {
      requestedBy: ctx.requestedBy,
      choose,
      timeoutMs: ctx.remainingMs(),
    });
    try {
      await handle.reached({ timeoutMs: ctx.remainingMs() });
    } catch (error) {
      await handle.release().catch(() => {});
      await point?.close();
      throw error;
    }
    return { method: 'hold-table', point: point!, release: () => handle.release() };
  } catch (error) {
    // The library's hint says to ask for the hold again; verify's reader runs verify again.
    if (!isCarveError(error, 'SYNC_HOLD_TIMEOUT')) throw error;
    throw new CarveError('SYNC_HOLD_TIMEOUT', error.message, {
      details: error.details,
      hint: `${error.details.action}, then run verify again.`,
    });
  }
}

async function withTimeout<T>(promise: Promise<T>, ctx: Ctx): Promise<T> {
  // A second more than the snapshot's own bound, so that a snapshot waiting on the monolith
  // reports that (VERIFY_SNAPSHOT_TIMEOUT) rather than this.
  const timeoutMs = ctx.remainingMs() + 1000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => void holdTimeout(ctx, timeoutMs).then(reject, reject), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The in-process sync did not reach the point: an applier waiting for someone's lock, or behind. */
async function holdTimeout(ctx: Ctx, timeoutMs: number): Promise<CarveError> {
  const blockers = (
    await Promise.all(ctx.services.map((s) => lockBlockersOfCarve(atService(s.url)).catch(() => [])))
  ).flat();
  const action = blockers.length
    ? endTransactionsAction(blockers, 'service databases’ server')
    : 'The sync is behind or stuck: check its lag (carve status) and allow a longer wait (--hold-timeout); ' +
      'if its applier waits for a lock, find the holder as a superuser (SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity ' +
      "WHERE application_name LIKE 'carve%' AND wait_event_type = 'Lock') and end that transaction";
  return new CarveError(
    'VERIFY_HOLD_TIMEOUT',
    `The sync engine did not reach the verify point in ${Math.round(timeoutMs / 1000)} s${
      blockers.length ? `: its appliers wait for ${blockers.map(describeBlocker).join('; ')}` : ''
    }`,
    { details: { timeoutMs, action, blockers }, hint: `${action}, then run verify again.` },
  );
}

async function checkPositions(ctx: Ctx, lsn: Lsn): Promise<void> {
  const names = ctx.routing.names;
  const noPosition = (database: string) =>
    new CarveError(
      'VERIFY_NO_POSITION',
      `${database} records no applied position for migration "${names.migration}"`,
      {
        details: { database, migration: names.migration },
        hint: 'Run carve copy first. If the monolith is frozen and nothing writes anywhere, verify with --assume-static.',
      },
    );
  const positions = await Promise.all(
    ctx.services.map((s) =>
      withSession(atService(s.url), async (c) => {
        const table = quoteQualified(names.stateSchema, 'apply_position');
        const present = await c.query('SELECT to_regclass($1) IS NOT NULL AS p', [table]);
        if (!present.rows[0].p) throw noPosition(s.database);
        const { rows } = await c.query(`SELECT lsn::text AS lsn FROM ${table} WHERE migration = $1`, [
          names.migration,
        ]);
        if (!rows[0]) throw noPosition(s.database);
        return { service: s, lsn: parseLsn(rows[0].lsn) };
      }),
    ),
  );
  const slot = await slotInfo(ctx.routing.sourceUrl, names.slot);
  if (!slot.exists || slot.walStatus === 'lost') throw await slotLost(ctx, slot);
  // The slot cannot show what lies behind its confirmed position: a target behind it (a carve apply
  // lagging behind carve sync --sink kafka-only, a restored database) lacks changes no peek finds.
  const confirmed = slot.confirmedFlushLsn;
  const late =
    confirmed === null
      ? []
      : positions
          .filter((p) => p.lsn < confirmed)
          .map((p) => ({ database: p.service.database, applied: p.lsn }));
  if (confirmed !== null && late.length > 0)
    throw behindSlotError(ctx.routing, late, confirmed, await readMovedServices(ctx.routing))!;
  const windows: PeekWindow[] = positions.map(({ service, lsn: p }) => ({
    database: service.database,
    from: p < lsn ? p : lsn,
    to: p < lsn ? lsn : p,
    tables: new Set(
      ctx.routes
        .filter((r) => r.database === service.database)
        .map((r) => `${r.source.schema}.${r.source.name}`),
    ),
  }));
  const upTo = windows.reduce((m, w) => (w.to > m ? w.to : m), lsn);
  const peek = () =>
    withSession(atMonolith(ctx.routing.sourceUrl), (c) =>
      peekRelevantCommits(c, names.slot, names.publication, upTo, windows),
    );
  let findings: Awaited<ReturnType<typeof peek>> | undefined;
  for (let attempt = 1; !findings; attempt++) {
    try {
      findings = await peek();
    } catch (error) {
      // A checkpoint may invalidate the slot (max_slot_wal_keep_size) or someone drop it meanwhile.
      const now = await slotInfo(ctx.routing.sourceUrl, names.slot);
      if (!now.exists || now.walStatus === 'lost') throw await slotLost(ctx, now);
      // carve status reads the slot for a moment (lag of a stopped sync): wait for it.
      if (sqlStateOf(error) !== SqlState.objectInUse || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  if (findings.length) {
    throw new CarveError(
      'VERIFY_TARGETS_BEHIND',
      `No carve sync is running and ${findings.map((f) => f.database).join(', ')} lack(s) monolith transactions committed since their last applied position`,
      {
        details: {
          lsn: formatLsn(lsn),
          databases: findings.map((f) => ({
            ...f,
            position: formatLsn(positions.find((p) => p.service.database === f.database)!.lsn),
          })),
        },
        hint: 'Start carve sync (verify holds it at a consistent point while it reads), then run verify again; or run carve verify --catch-up, which applies the missing changes first.',
      },
    );
  }
}

async function slotLost(ctx: AlignmentContext, slot: SlotInfo): Promise<CarveError> {
  const name = ctx.routing.names.slot;
  const moved = await readMovedServices(ctx.routing);
  // Without the slot's changes nothing proves the targets are at the monolith snapshot — and
  // nothing will bring them there.
  return new CarveError(
    'VERIFY_SLOT_LOST',
    slot.exists
      ? `The migration's slot ${name} lost WAL it needed (wal_status = lost)`
      : `The migration's slot ${name} does not exist on the monolith`,
    {
      details: {
        slot: name,
        walStatus: slot.exists ? slot.walStatus : null,
        cutOver: moved.map((m) => ({ service: m.service, database: m.database, phase: m.phase })),
      },
      hint: `${startOverHint(ctx.routing, moved)} (To compare the targets as they are while nothing writes anywhere, use carve verify --assume-static.)`,
    },
  );
}
