import { copy } from '../copy/index.js';
import type { CopyResult } from '../copy/events.js';
import { CarveError } from '../errors.js';
import { provision } from '../provision/index.js';
import { withCarveLogins } from '../routing/carve-logins.js';
import { runBesideForward } from '../reverse/beside-forward.js';
import { startSync, type SyncEngine } from '../sync/index.js';
import { verify } from '../verify/index.js';
import type { VerifyResult } from '../verify/events.js';
import { EventHub } from '../event-hub.js';
import { asMigrateEvent, type CarveEvents, type MigrateReport, type MigrateStep } from './events.js';
import { readMigrationStatus, type MigrationStatus } from './status.js';
import type { MigrateOptions } from './options.js';

export type { MigrateOptions } from './options.js';

/**
 * The whole job, resumable: plan checks → provision → copy → sync until caught up → verify → report
 * (→ keep following). Every step is idempotent and keeps its state in the databases, so running it
 * again after a crash or kill -9 continues where the last run stopped.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const hub = options.events ?? new EventHub<CarveEvents>();
  const onEvent = options.onEvent;
  const unsubscribe = onEvent ? hub.subscribe((envelope) => onEvent(asMigrateEvent(envelope))) : () => {};
  try {
    return await run(options, hub);
  } finally {
    unsubscribe();
  }
}

async function run(options: MigrateOptions, hub: EventHub<CarveEvents>): Promise<MigrateReport> {
  const { catalog } = options.prepared;
  const logins = {
    ...(options.secretsDir ? { secretsDir: options.secretsDir } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
  // carve's roles log in with the passwords provision keeps; known ones now, new ones after it.
  let routing = withCarveLogins(options.prepared.routing, logins);
  const emit = hub.emitter('migrate');
  const started = Date.now();
  const steps: MigrateReport['steps'] = [];
  const step = async <T>(name: MigrateStep, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    emit({ type: 'step-started', step: name });
    const result = await work();
    const seconds = (Date.now() - t0) / 1000;
    steps.push({ step: name, seconds });
    emit({ type: 'step-done', step: name, seconds });
    return result;
  };
  const aborted = () => options.signal?.aborted === true;

  const before = await readMigrationStatus(routing, { lagSeconds: false });
  const resumedFrom = before.phase === 'not-provisioned' && !before.copy ? null : before.phase;
  emit({
    type: 'migrate-started',
    migration: routing.names.migration,
    resumedFrom,
    description: describe(before),
  });

  await step('provision', () =>
    provision(catalog, routing, {
      secretsDir: options.secretsDir,
      env: options.env,
      onEvent: hub.emitter('provision'),
    }),
  );
  routing = withCarveLogins(options.prepared.routing, logins);

  let copyResult: CopyResult | null = null;
  if (!aborted()) {
    copyResult = await step('copy', () =>
      copy({
        routing,
        resume: true,
        jobs: options.jobs,
        chunkBytes: options.chunkBytes,
        buildIndexes: options.buildIndexes,
        ...(options.copySnapshot?.(routing) ?? {}),
        onEvent: hub.emitter('copy'),
        signal: options.signal,
      }),
    );
  }
  if (!copyResult?.complete || aborted()) return finish(null, null);

  let changes = 0;
  let transactions = 0;
  const counting = hub.on('sync', (event) => {
    if (event.type === 'batch-applied') {
      changes += event.changes;
      transactions += event.transactions;
    }
  });
  const engine: SyncEngine = await startSync({
    routing,
    // Its sessions (and the migration lock, which another command reports) say carve migrate.
    applicationName: `carve migrate (${routing.names.migration})`,
    ...(options.sinks ? { sinks: options.sinks } : {}),
    onEvent: hub.emitter('sync'),
  }).catch((error: unknown) => {
    counting();
    throw error;
  });
  // The signal stops the engine, whichever step is running.
  const onAbort = () => void engine.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await step('sync', () => untilStopped(engine, engine.waitForCatchUp()));
    if (options.beforeVerify && !aborted()) {
      await options.beforeVerify();
      await untilStopped(engine, engine.waitForCatchUp());
    }
    let verifyResult: VerifyResult | null = null;
    if (!aborted()) {
      verifyResult = await step('verify', () =>
        verify({
          routing,
          sync: engine,
          jobs: options.jobs,
          onEvent: hub.emitter('verify'),
          signal: options.signal,
        }),
      );
    }
    const report = finish(verifyResult, engine);
    if (options.follow && !aborted()) {
      // Following also keeps the reverse streams of cut-over services running (docs/reverse.md).
      await step('follow', () =>
        runBesideForward(engine, {
          routing,
          onEvent: hub.emitter('reverse'),
          ...(options.signal ? { signal: options.signal } : {}),
        }).then(() => undefined),
      );
    }
    return report;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await engine.stop().catch(() => undefined);
    counting();
  }

  function finish(verifyResult: VerifyResult | null, engine: SyncEngine | null): MigrateReport {
    const report: MigrateReport = {
      migration: routing.names.migration,
      ok: copyResult?.complete === true && verifyResult?.ok === true,
      resumedFrom,
      steps,
      copy: copyResult,
      sync: engine ? { changes, transactions, targets: engine.status() } : null,
      verify: verifyResult,
      seconds: (Date.now() - started) / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    emit({ type: 'migrate-finished', report });
    return report;
  }
}

/** Resolve with `work`, or fail if the engine stops first (an error, or the signal). */
async function untilStopped<T>(engine: SyncEngine, work: Promise<T>): Promise<T | undefined> {
  const stopped = engine.done.then((result) => {
    if (result.reason === 'stopped') return undefined;
    throw new CarveError('SYNC_STOPPED', `Sync stopped (${result.reason}) before catching up`, {
      hint: 'Run carve migrate again; it continues from the recorded positions.',
    });
  });
  // waitForCatchUp also rejects when the engine ends; a stop that was asked for is not a failure.
  const settled = work.catch(async (error: unknown) => {
    const result = await engine.done.catch(() => undefined);
    if (result?.reason === 'stopped') return undefined;
    throw error;
  });
  return Promise.race([settled, stopped]);
}

function describe(status: MigrationStatus): string {
  switch (status.phase) {
    case 'not-provisioned':
      return status.copy ? 'the service databases are incomplete' : 'nothing done yet';
    case 'provisioned':
      return 'provisioned; the copy has not started';
    case 'copying':
    case 'copy-failed': {
      const c = status.copy!;
      return `copy in progress: ${c.chunksDone}/${c.chunks} chunks done (${c.rowsCopied} rows)${c.chunksFailed ? `, ${c.chunksFailed} failed` : ''}; continuing it`;
    }
    case 'copied':
    case 'streaming':
      return 'copy complete; streaming continues from the recorded positions';
    case 'verified':
      return 'copied and verified before; streaming and verifying again';
    case 'verify-failed':
      return 'the last verify found differences; streaming and verifying again';
    case 'slot-lost':
      return 'the replication slot is lost: streaming cannot resume';
    case 'torn-down':
      return 'the slot and publication were torn down: streaming cannot resume';
  }
}
