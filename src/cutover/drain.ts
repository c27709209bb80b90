import { CarveError, isCarveError } from '../errors.js';
import { atMonolith, atService, openSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { startSync, type SyncEngine } from '../sync/index.js';
import type { SinkFactory } from '../sync/sink.js';
import { HEARTBEAT_PREFIX } from '../sync/source-control.js';
import { SyncState } from '../sync/state.js';

/**
 * The forward stream during a cutover: either a `carve sync` running elsewhere (it holds the
 * migration lock; cutover only waits for its applied positions) or an engine run in this process
 * for as long as the cutover needs it.
 */
export interface ForwardStream {
  kind: 'running-sync' | 'in-process';
  engine: SyncEngine | null;
  /** Resolve once the service database has durably applied every monolith commit before `lsn`. */
  drain(service: ServiceRoute, lsn: Lsn, timeoutMs: number, onWait?: (applied: Lsn) => void): Promise<void>;
  close(): Promise<void>;
}

export async function openForwardStream(
  routing: Routing,
  applicationName: string,
  lockWaitMs = 3000,
  sinks: SinkFactory[] = [],
): Promise<ForwardStream> {
  let engine: SyncEngine;
  try {
    // A carve process killed a moment ago may hold the lock until its backend notices: wait a little.
    engine = await startSync({ routing, lockWaitMs, sinks, applicationName: `${applicationName} sync` });
  } catch (error) {
    if (!isCarveError(error, 'MIGRATION_LOCKED')) throw error;
    const holder = error.details.holder;
    if (holder?.command !== 'sync') {
      throw new CarveError(
        'CUTOVER_MIGRATION_BUSY',
        `Migration "${routing.names.migration}" is busy: ${error.message}`,
        {
          details: { migration: routing.names.migration, holder },
          hint: 'cutover runs beside carve sync or on its own; wait for the other carve command to finish, then run it again.',
        },
      );
    }
    return runningSync(routing, applicationName);
  }
  return {
    kind: 'in-process',
    engine,
    async drain(_service, lsn, timeoutMs) {
      await withTimeout(engine.waitForCatchUp(lsn), timeoutMs, lsn);
    },
    async close() {
      await engine.stop().catch(() => undefined);
    },
  };
}

/** A `carve sync` of another process: poll the service database's applied position. */
function runningSync(routing: Routing, applicationName: string): ForwardStream {
  const state = new SyncState(routing.names.stateSchema, routing.names.migration);
  return {
    kind: 'running-sync',
    engine: null,
    async drain(service, lsn, timeoutMs, onWait) {
      const deadline = Date.now() + timeoutMs;
      let target: Client | undefined;
      let monolith: Client | undefined;
      try {
        target = await openSession(atService(service.url), { applicationName });
        monolith = await openSession(atMonolith(routing.sourceUrl), { applicationName });
        let lastHeartbeat = 0;
        for (;;) {
          const applied = (await state.readPosition(target)).lsn;
          if (applied >= lsn) return;
          if (Date.now() > deadline) throw drainTimeout(lsn, timeoutMs);
          onWait?.(applied);
          // An idle monolith writes nothing after the drain point: a message in its WAL lets the
          // running sync's position pass it (it acknowledges what it has seen).
          if (Date.now() - lastHeartbeat > 1000) {
            lastHeartbeat = Date.now();
            await monolith.query(`SELECT pg_catalog.pg_logical_emit_message(false, $1, '')`, [
              HEARTBEAT_PREFIX,
            ]);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await target?.end().catch(() => {});
        await monolith?.end().catch(() => {});
      }
    },
    async close() {},
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, lsn: Lsn): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(drainTimeout(lsn, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function drainTimeout(lsn: Lsn, timeoutMs: number): CarveError {
  return new CarveError(
    'CUTOVER_DRAIN_TIMEOUT',
    `The service database did not apply the monolith's changes up to the drain point ${formatLsn(lsn)} within ${Math.round(timeoutMs / 1000)} s`,
    {
      details: { drainLsn: formatLsn(lsn), timeoutMs },
      hint: 'The freeze was undone and the monolith takes writes again. Check carve status (lag, sync errors); run the cutover again when the lag is low, or with a larger --timeout.',
    },
  );
}
