import {
  complete,
  cutover,
  FROZEN_SQLSTATE,
  rollback,
  type CutoverEvent,
  type CutoverResult,
  type RollbackResult,
} from '../cutover/index.js';
import { atService, withSession } from '../pg/connect.js';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import {
  startReverseSync,
  waitReverseApplied,
  type ReverseEngine,
  type ReverseEvent,
} from '../reverse/index.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { startSync, type SyncEngine } from '../sync/index.js';
import type { SyncEvent } from '../sync/events.js';
import { verify } from '../verify/index.js';
import type { VerifyEvent, VerifyResult } from '../verify/events.js';
import type { LoadReport, LoadStats } from './load/load-types.js';
import { ServiceRoutedTables } from './load/routed-tables.js';
import { startLoad, type LoadHandle } from './load/start-load.js';

/** One step of the demo's cutover phase, with the load's failures while it ran. */
export interface DemoCutoverStep {
  step: 'cutover' | 'rollback' | 'cutover-again' | 'complete';
  service: string;
  /** The whole library call, seconds. */
  seconds: number;
  /**
   * Write-unavailability window, seconds: cutover = monolith freeze start → switch done;
   * rollback = service freeze start → monolith writable again. Null for complete.
   */
  unavailableSeconds: number | null;
  /** Load transactions that failed meanwhile, by SQLSTATE (CV001: a frozen table, by design). */
  loadErrors: Record<string, number>;
}

export interface DemoCutoverReport {
  steps: DemoCutoverStep[];
  rollbackService: string;
  /** The load of the cutover phase (service-routed). */
  load: LoadReport;
  /** Failed load transactions: with the freeze SQLSTATE (expected, inside windows) and any other. */
  failedFrozen: number;
  failedOther: number;
  /** Verify of every table, monolith against services, after the load stopped and both streams caught up (before complete). */
  verify: VerifyResult;
  /** Services completed (monolith copy retired). */
  completed: string[];
  seconds: number;
}

export type DemoCutoverEvent =
  | { type: 'streams-started' }
  | { type: 'routed-load-started'; rate: number }
  | { type: 'cutover'; service: string; event: CutoverEvent }
  | { type: 'step-done'; step: DemoCutoverStep }
  | { type: 'routed'; service: string; to: 'service' | 'monolith' }
  | { type: 'routed-load-stopped'; report: LoadReport }
  | { type: 'reverse'; event: ReverseEvent }
  | { type: 'sync'; event: SyncEvent }
  | { type: 'verify'; event: VerifyEvent }
  | { type: 'completed'; service: string };

export interface DemoCutoverOptions {
  routing: Routing;
  monolithUrl: string;
  rate: number;
  seed: number;
  /** The service rolled back and cut over again (default patient). */
  rollbackService?: string;
  jobs?: number;
  onEvent?: (event: DemoCutoverEvent) => void;
  signal?: AbortSignal;
}

/**
 * The demo's second half, after `migrate`: the forward and reverse streams run in this process
 * (as `carve sync` / `migrate --follow` run them), a service-routed write load runs, every service
 * is cut over in turn (the load's router moves its tables the moment the switch is done), one is
 * rolled back (its tables routed back to the monolith the moment the monolith takes writes again)
 * and cut over again; then the load stops, both streams catch up, everything is verified monolith
 * against services (before complete: afterwards the monolith's copies stop following), and every
 * service is completed.
 */
export async function runDemoCutover(options: DemoCutoverOptions): Promise<DemoCutoverReport> {
  const started = Date.now();
  const { routing } = options;
  const emit = options.onEvent ?? (() => {});
  let forward: SyncEngine | undefined;
  let reverse: ReverseEngine | undefined;
  let load: LoadHandle | undefined;
  let streamFailure: { error: unknown } | undefined;
  try {
    forward = await startSync({ routing, onEvent: (event) => emit({ type: 'sync', event }) });
    reverse = await startReverseSync({
      routing,
      pollMs: 250,
      onEvent: (event) => emit({ type: 'reverse', event }),
    });
    // A stream failing for good ends the demo loudly, as runBesideForward does for `carve sync`.
    forward.done.then(
      (r) => {
        if (r.reason !== 'stopped')
          streamFailure ??= { error: new Error(`forward stream ended: ${r.reason}`) };
      },
      (error: unknown) => (streamFailure ??= { error }),
    );
    reverse.done.catch((error: unknown) => (streamFailure ??= { error }));
    await forward.waitForCatchUp();
    emit({ type: 'streams-started' });

    const tables = new ServiceRoutedTables(routing);
    load = startLoad({
      url: options.monolithUrl,
      rate: options.rate,
      durationMs: 24 * 3600_000,
      connections: 2,
      // Another stream of operations than the migration's load (same seed would replay it).
      seed: options.seed + 1,
      router: tables.router,
      // A monolith foreign key to a row the load just wrote in a service database: wait until the
      // reverse streams have brought everything written there so far, however long that takes on
      // this machine (within the load's budget), instead of a fixed number of retries.
      awaitReverse: (timeoutMs) => reverseReached(routing, tables.services(), timeoutMs),
    });
    emit({ type: 'routed-load-started', rate: options.rate });
    await sleep(500, options.signal); // the load at its rate before the first freeze

    const steps: DemoCutoverStep[] = [];
    const check = () => {
      if (streamFailure) throw streamFailure.error;
      options.signal?.throwIfAborted();
    };
    const order = [
      ...routing.services.filter((s) => !s.readonly),
      ...routing.services.filter((s) => s.readonly),
    ];
    const runCutover = async (service: ServiceRoute, step: 'cutover' | 'cutover-again') => {
      check();
      const before = load!.stats();
      const result: CutoverResult = await cutover({
        routing,
        service: service.name,
        jobs: options.jobs,
        lockWaitMs: 0, // the forward engine runs in this process: it holds the migration lock
        onEvent: (event) => {
          emit({ type: 'cutover', service: service.name, event });
          // The on-switch moment: the application writes this service's tables in its database.
          if (event.type === 'step-done' && event.step === 'switch') {
            tables.move(service.name, service.url);
            emit({ type: 'routed', service: service.name, to: 'service' });
          }
        },
      });
      const done: DemoCutoverStep = {
        step,
        service: service.name,
        seconds: result.seconds,
        unavailableSeconds: result.unavailableSeconds,
        loadErrors: errorsSince(before, load!.stats()),
      };
      steps.push(done);
      emit({ type: 'step-done', step: done });
    };
    for (const service of order) await runCutover(service, 'cutover');

    const again = order.find((s) => s.name === (options.rollbackService ?? 'patient')) ?? order[0]!;
    check();
    const before = load.stats();
    const rolled: RollbackResult = await rollback({
      routing,
      service: again.name,
      jobs: options.jobs,
      onEvent: (event) => {
        emit({ type: 'cutover', service: again.name, event });
        // The monolith takes the service's writes again: the application is pointed back at it.
        if (event.type === 'step-done' && event.step === 'unfreeze-monolith') {
          tables.restore(again.name);
          emit({ type: 'routed', service: again.name, to: 'monolith' });
        }
      },
    });
    const rollbackStep: DemoCutoverStep = {
      step: 'rollback',
      service: again.name,
      seconds: rolled.seconds,
      unavailableSeconds: rolled.unavailableSeconds,
      loadErrors: errorsSince(before, load.stats()),
    };
    steps.push(rollbackStep);
    emit({ type: 'step-done', step: rollbackStep });
    await sleep(500, options.signal); // some writes on the monolith again before the second cutover
    await runCutover(again, 'cutover-again');
    await sleep(500, options.signal); // and in the service database after it

    const loadReport = await load.stop();
    load = undefined;
    emit({ type: 'routed-load-stopped', report: loadReport });
    check();

    // Quiet end state: the reverse streams have applied every service write to the monolith, then
    // the forward stream every monolith change (projections of moved tables included).
    await reverseCaughtUp(routing, reverse, 60_000, check);
    await forward.waitForCatchUp();
    check();
    const verifyResult = await verify({
      routing,
      sync: forward,
      jobs: options.jobs,
      onEvent: (event) => emit({ type: 'verify', event }),
      signal: options.signal,
    });

    const completed: string[] = [];
    for (const service of order) {
      const t0 = Date.now();
      await complete({ routing, service: service.name });
      completed.push(service.name);
      const step: DemoCutoverStep = {
        step: 'complete',
        service: service.name,
        seconds: (Date.now() - t0) / 1000,
        unavailableSeconds: null,
        loadErrors: {},
      };
      steps.push(step);
      emit({ type: 'completed', service: service.name });
    }

    const failedFrozen = loadReport.errors[FROZEN_SQLSTATE] ?? 0;
    return {
      steps,
      rollbackService: again.name,
      load: loadReport,
      failedFrozen,
      failedOther: loadReport.failed - failedFrozen,
      verify: verifyResult,
      completed,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (load) await load.stop().catch(() => undefined);
    await reverse?.stop().catch(() => undefined);
    await forward?.stop().catch(() => undefined);
  }
}

/**
 * Whether the monolith durably holds every transaction the given services' databases committed
 * before this call, within `timeoutMs` (each database's WAL position now, waited for through the
 * reverse stream's recorded position: waitReverseApplied). False on the deadline or any error.
 */
export async function reverseReached(
  routing: Routing,
  services: readonly string[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  try {
    await Promise.all(
      services.map(async (name) => {
        const service = routing.services.find((s) => s.name === name)!;
        const lsn = await withSession(atService(service.url), async (c) => {
          const { rows } = await c.query('SELECT pg_current_wal_lsn()::text AS lsn');
          return parseLsn(rows[0].lsn as string);
        });
        await waitReverseApplied(routing, name, lsn, Math.max(0, deadline - Date.now()));
      }),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Wait until every reverse stream has applied its service database's WAL up to where it was now
 * (the load has stopped: nothing after that is a service write).
 */
async function reverseCaughtUp(
  routing: Routing,
  reverse: ReverseEngine,
  timeoutMs: number,
  check: () => void,
): Promise<void> {
  const targets = new Map<string, Lsn>();
  for (const name of reverse.running) {
    const service = routing.services.find((s) => s.name === name)!;
    const lsn = await withSession(atService(service.url), async (c) => {
      const { rows } = await c.query('SELECT pg_current_wal_lsn()::text AS lsn');
      return parseLsn(rows[0].lsn as string);
    });
    targets.set(name, lsn);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const lags = reverse.status();
    const behind = [...targets].filter(([name, lsn]) => {
      const lag = lags.find((l) => l.service === name);
      return !lag || parseLsn(lag.appliedLsn) < lsn;
    });
    if (behind.length === 0 || Date.now() > deadline) return;
    await sleep(200);
  }
}

function errorsSince(before: LoadStats, after: LoadStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [state, n] of Object.entries(after.errors)) {
    const delta = n - (before.errors[state] ?? 0);
    if (delta > 0) out[state] = delta;
  }
  return out;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
