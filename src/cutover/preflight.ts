import { CarveError, isCarveError } from '../errors.js';
import { readMigrationStatus } from '../migrate/status.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { verify } from '../verify/index.js';
import type { ForwardStream } from './drain.js';
import type { ServicePhaseStatus } from './status.js';

/** The service of the plan named `name`, or CUTOVER_UNKNOWN_SERVICE. */
export function findService(routing: Routing, name: string): ServiceRoute {
  const service = routing.services.find((s) => s.name === name);
  if (!service) {
    throw new CarveError('CUTOVER_UNKNOWN_SERVICE', `The plan has no service "${name}"`, {
      details: { service: name, services: routing.services.map((s) => s.name) },
      hint: `Name one of the plan's services: ${routing.services.map((s) => s.name).join(', ')}.`,
    });
  }
  if (!service.tables.some((r) => r.kind === 'owned')) {
    throw new CarveError(
      'CUTOVER_UNKNOWN_SERVICE',
      `Service "${name}" owns no tables: there is nothing to cut over`,
      {
        details: { service: name, services: routing.services.map((s) => s.name) },
        hint: 'Cut over a service that owns tables in the plan.',
      },
    );
  }
  return service;
}

/** Route ids of the service's own tables (what cutover freezes, drains and verifies). */
export function ownedRouteIds(service: ServiceRoute): string[] {
  return service.tables.filter((r) => r.kind === 'owned').map((r) => r.id);
}

/** No other service may be between phases (a killed cutover or rollback holds its tables frozen). */
export function checkNoOtherInProgress(phases: readonly ServicePhaseStatus[], service: string): void {
  const busy = phases.find(
    (p) => p.service !== service && (p.phase === 'cutting-over' || p.phase === 'rolling-back'),
  );
  if (busy) {
    const fix = busy.phase === 'cutting-over' ? 'cutover' : 'rollback';
    throw new CarveError(
      'CUTOVER_OTHER_SERVICE_IN_PROGRESS',
      `Service ${busy.service} is ${busy.phase}: one service changes hands at a time`,
      {
        details: { service: busy.service, phase: busy.phase },
        hint: `Finish it first: carve ${fix} --plan <file> --service ${busy.service}${busy.phase === 'cutting-over' ? ' (or carve rollback … to undo its freeze)' : ''}.`,
      },
    );
  }
}

/**
 * The checks before any write to the monolith: the copy finished, the slot is healthy, the service
 * database is within `maxLagSeconds` of the monolith (a stream run in this process catches up
 * first), and a verify of the service's tables finds no difference.
 */
export async function checkBeforeFreeze(input: {
  routing: Routing;
  service: ServiceRoute;
  forward: ForwardStream;
  maxLagSeconds: number;
  timeoutMs: number;
  jobs: number;
  applicationName: string;
}): Promise<{ lagSeconds: number | null }> {
  const { routing, service, forward } = input;
  // --timeout bounds each wait of the pre-checks: catching up, and verify's consistent read (its
  // monolith snapshot waits for every open transaction; the forward stream must reach its point).
  const status = await readMigrationStatus(routing, { lagSeconds: forward.kind === 'running-sync' });
  if (!status.copy?.finished) {
    throw new CarveError(
      'CUTOVER_COPY_UNFINISHED',
      `The copy of migration "${routing.names.migration}" is not finished`,
      {
        details: { phase: status.phase },
        hint: 'Finish it first (carve copy --resume or carve migrate), then cut over.',
      },
    );
  }
  const slot = status.slot;
  if (!slot?.exists || slot.walStatus === 'lost' || slot.walStatus === 'unreserved') {
    throw new CarveError(
      'CUTOVER_SLOT_UNHEALTHY',
      `Replication slot ${routing.names.slot} is ${!slot?.exists ? 'missing' : `at risk (wal_status ${slot.walStatus})`}`,
      {
        details: {
          slot: routing.names.slot,
          exists: slot?.exists ?? false,
          walStatus: slot?.walStatus ?? null,
        },
        hint: `Do what carve status --plan <file> says about slot ${routing.names.slot} (its alert names the fix): the stream into the service databases must be able to resume before a cutover. Then run the cutover again.`,
      },
    );
  }
  let lagSeconds: number | null = null;
  if (forward.kind === 'in-process') {
    // Started by this command: bring every database to the monolith's current position first.
    const engine = forward.engine!;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      engine.waitForCatchUp(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new CarveError(
                'CUTOVER_LAG_TOO_HIGH',
                'The service databases did not catch up with the monolith within --timeout',
                {
                  details: { database: service.database, timeoutMs: input.timeoutMs },
                  hint: 'Start carve sync --plan <file> and let it catch up (carve status shows the lag), then run the cutover again.',
                },
              ),
            ),
          input.timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    lagSeconds = 0;
  } else {
    const target = status.sync?.targets.find((t) => t.database === service.database);
    lagSeconds = target?.lagSeconds ?? null;
    if (lagSeconds !== null && lagSeconds > input.maxLagSeconds) {
      throw new CarveError(
        'CUTOVER_LAG_TOO_HIGH',
        `${service.database} is ${lagSeconds.toFixed(1)} s behind the monolith (--max-lag ${input.maxLagSeconds} s)`,
        {
          details: { database: service.database, lagSeconds, maxLagSeconds: input.maxLagSeconds },
          hint: 'Wait until carve status shows the lag below --max-lag (lower the write load, or give carve sync time), then run the cutover again.',
        },
      );
    }
  }
  const result = await verify({
    routing,
    tables: ownedRouteIds(service),
    jobs: input.jobs,
    sequences: 'advisory',
    holdTimeoutMs: input.timeoutMs,
    applicationName: `${input.applicationName} verify`,
    ...(forward.engine ? { sync: forward.engine } : {}),
  }).catch((error: unknown) => {
    throw precheckTimeout(error, input.timeoutMs);
  });
  if (!result.ok) throw verifyRefusal(result, service, 'before');
  return { lagSeconds };
}

export function verifyRefusal(
  result: {
    tables: { routeId: string; status: string; missing: number; extra: number; different: number }[];
  },
  service: ServiceRoute,
  when: 'before' | 'at-drain' | 'rollback',
): CarveError {
  const differing = result.tables
    .filter((t) => t.status !== 'ok')
    .map((t) => ({ routeId: t.routeId, missing: t.missing, extra: t.extra, different: t.different }));
  const code = when === 'rollback' ? 'ROLLBACK_VERIFY_FAILED' : 'CUTOVER_VERIFY_FAILED';
  const hint =
    when === 'before'
      ? `Nothing was frozen. Find the differences with carve verify --plan <file> --tables ${ownedRouteIds(service).join(',')} (--repair-sql writes the fix), then run the cutover again.`
      : when === 'at-drain'
        ? 'The freeze was undone: the monolith takes writes again. Find the differences with carve verify --plan <file>, repair them, then run the cutover again.'
        : // The service's rows are the truth: carve recover copies them into the monolith (it needs the
          // service's replication origin, which a running carve sync holds for the reverse stream).
          `Both sides stay frozen. Compare with carve verify --plan <file> --assume-static --tables ${ownedRouteIds(service).join(',')}; the service's rows are the truth: stop carve sync, copy them into the monolith with carve recover --plan <file> --service ${service.name} --yes, then run carve rollback again.`;
  return new CarveError(
    code,
    `Verify of ${service.name}'s tables found differences${differing.length ? ` in ${differing.map((d) => d.routeId).join(', ')}` : ' (cut foreign keys or sequences)'}`,
    { details: { service: service.name, differing }, hint },
  );
}

/** verify's waits for a consistent read, ended by --timeout: what blocks it, and run cutover again. */
function precheckTimeout(error: unknown, timeoutMs: number): unknown {
  const waits = ['VERIFY_SNAPSHOT_TIMEOUT', 'VERIFY_HOLD_TIMEOUT', 'SYNC_HOLD_TIMEOUT'] as const;
  const code = waits.find((c) => isCarveError(error, c));
  if (!code) return error;
  const cause = error as CarveError<(typeof waits)[number]>;
  return new CarveError(
    'CUTOVER_PRECHECK_TIMEOUT',
    `The pre-checks did not finish within --timeout (${Math.round(timeoutMs / 1000)} s): ${cause.message}`,
    {
      details: { ...cause.details, timeoutMs, cause: code },
      hint: `Nothing was frozen. ${cause.details.action}, then run the cutover again.`,
      cause: error,
    },
  );
}
