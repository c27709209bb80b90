import { CarveError, isCarveError } from '../errors.js';
import { atMonolith, atService, withSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { acquireMigrationLock } from '../state/migration-lock.js';
import { frozenFunctionSql } from '../state/monolith-schema.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { verify } from '../verify/index.js';
import { planRollback } from './dry-run.js';
import type { CutoverEvent, MovedSequence, RollbackResult, RollbackStep } from './events.js';
import { freezeTables, unfreezeTables } from './freeze.js';
import { frozenMonolithTables, frozenServiceTables } from './frozen-tables.js';
import { acquireCutoverLock } from './lock.js';
import { DEFAULTS, type RollbackOptions } from './options.js';
import { findService, ownedRouteIds, verifyRefusal } from './preflight.js';
import { reverseApi } from './reverse-link.js';
import { moveSequences } from './sequences.js';
import { CutoverJournal, MonolithFreezes, type Journal } from './state.js';

/**
 * Give a cut-over service back to the monolith (docs/cutover.md):
 *
 *   freeze the service's tables in its database → drain the reverse stream to that point → verify
 *   the monolith's copy → move the monolith's sequences past the service's → unfreeze the monolith
 *   → drop the reverse stream → journal: rolled back (streaming)
 *
 * Every step is idempotent, so a killed rollback is finished by running it again. A cutover that
 * never reached its point of no return is rolled back by removing its monolith freeze. The
 * service's tables stay frozen in its database afterwards: it is no longer authoritative (the
 * forward stream, in replica mode, passes the freeze; a later cutover removes it).
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const started = Date.now();
  const { routing } = options;
  const service = findService(routing, options.service);
  const emit = options.onEvent ?? (() => {});
  const empty = (partial: boolean, alreadyDone: boolean): RollbackResult => ({
    service: service.name,
    database: service.database,
    partial,
    alreadyDone,
    rollbackLsn: null,
    steps: [],
    verify: null,
    sequences: [],
    unavailableSeconds: null,
    seconds: (Date.now() - started) / 1000,
  });
  if (options.dryRun) {
    emit({ type: 'planned', steps: await planRollback(routing, service, options) });
    return empty(false, false);
  }
  const app = options.applicationName ?? `carve rollback ${service.name} (${routing.names.migration})`;
  const lock = await acquireCutoverLock(routing, 'rollback', service.name);
  try {
    const { stateSchema, migration } = routing.names;
    const journal = new CutoverJournal(stateSchema, migration);
    const freezes = new MonolithFreezes(stateSchema, migration);
    const entry = await withSession(atService(service.url), async (c) => {
      await ensureStateSchema(c, stateSchema);
      return journal.read(c, service.name);
    });
    const monolithFrozen = await withSession(atMonolith(routing.sourceUrl), (c) =>
      freezes.read(c, service.name),
    );
    if (!entry || entry.phase === 'rolled-back') {
      if (monolithFrozen.length) {
        // A cutover stopped before its point of no return: the freeze is all it left.
        const t0 = Date.now();
        emit({ type: 'step-started', command: 'rollback', step: 'unfreeze-monolith' });
        await unfreezeTables(
          atMonolith(routing.sourceUrl),
          monolithFrozen.map((f) => f.table),
          app,
          (c) => freezes.forget(c, service.name),
        );
        const seconds = (Date.now() - t0) / 1000;
        emit({ type: 'step-done', command: 'rollback', step: 'unfreeze-monolith', seconds });
        return { ...empty(true, false), steps: [{ step: 'unfreeze-monolith', seconds }] };
      }
      if (entry) return empty(false, true);
      throw new CarveError('ROLLBACK_NOT_CUT_OVER', `Service ${service.name} was not cut over`, {
        details: { service: service.name },
        hint: "Nothing to roll back: the monolith serves it. carve status shows each service's phase.",
      });
    }
    if (entry.phase === 'completed') {
      throw new CarveError(
        'ROLLBACK_COMPLETED',
        `Service ${service.name} was completed: the reverse stream is gone`,
        {
          details: { service: service.name },
          hint: "After carve complete the monolith no longer receives the service's writes; moving it back needs a new migration in the other direction.",
        },
      );
    }
    return await new RollbackRun(options, service, app, emit, started, journal).run(entry);
  } finally {
    await lock.release();
  }
}

class RollbackRun {
  private readonly routing: Routing;
  private readonly steps: RollbackResult['steps'] = [];

  constructor(
    private readonly options: RollbackOptions,
    private readonly service: ServiceRoute,
    private readonly app: string,
    private readonly emit: (event: CutoverEvent) => void,
    private readonly started: number,
    private readonly journal: CutoverJournal,
  ) {
    this.routing = options.routing;
  }

  /**
   * Run a step unless the journal records it as done (`rollback:<step>` in its steps, added when
   * the step finished), so that a rerun after a kill goes on where the last run stopped.
   */
  private async step(step: RollbackStep, work: () => Promise<void>): Promise<void> {
    if (this.done.has(step)) {
      this.emit({ type: 'step-skipped', command: 'rollback', step, reason: 'done by an earlier run' });
      return;
    }
    const t0 = Date.now();
    this.emit({ type: 'step-started', command: 'rollback', step });
    if (this.options.pauseAt === step) await new Promise<never>(() => setInterval(() => {}, 1 << 30));
    await work();
    if (step !== 'freeze-service' && step !== 'journal')
      await this.withService((c) => this.journal.addStep(c, this.service.name, `rollback:${step}`));
    const seconds = (Date.now() - t0) / 1000;
    this.steps.push({ step, seconds });
    this.emit({ type: 'step-done', command: 'rollback', step, seconds });
  }

  private done = new Set<string>();

  private withService<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return withSession(atService(this.service.url), fn);
  }

  async run(entry: Journal): Promise<RollbackResult> {
    const service = this.service;
    const { stateSchema } = this.routing.names;
    const timeoutMs = this.options.timeoutMs ?? DEFAULTS.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const freezes = new MonolithFreezes(stateSchema, this.routing.names.migration);
    this.done = new Set(
      entry.phase === 'rolling-back'
        ? entry.steps.filter((s) => s.startsWith('rollback:')).map((s) => s.slice('rollback:'.length))
        : [],
    );

    let rollbackLsn: Lsn = entry.rollbackLsn ?? 0n;
    let verifyResult: { ok: boolean } | null = null;
    let sequences: MovedSequence[] = [];
    await this.step('freeze-service', async () => {
      // The trigger function belongs to the database's admin: carve's checks of the service's
      // tables (src/sync/target-guard.ts) trust only code of the admin or a superuser.
      await withSession(atService(service.adminUrl), (c) =>
        c.query(frozenFunctionSql((o) => quoteQualified(stateSchema, o))),
      );
      const tables = frozenServiceTables(service);
      const result = await freezeTables({
        to: atService(service.url),
        stateSchema,
        tables,
        applicationName: this.app,
        timeoutMs: Math.max(1000, deadline - Date.now()),
        record: async (client, lsn) => {
          await this.journal.recordServiceFreeze(
            client,
            service.name,
            tables.map((t) => t.table),
            lsn,
          );
          await this.journal.setPhase(client, service.name, 'rolling-back', {
            rollback_lsn: formatLsn(lsn),
            rollback_started_at: entry.rollbackStartedAt ?? new Date().toISOString(),
          });
          // A fresh rollback forgets the steps of an earlier one; this step is done with the freeze.
          await client.query(
            `UPDATE ${quoteQualified(stateSchema, 'cutovers')} SET steps = array(SELECT s FROM unnest(steps) s WHERE s NOT LIKE 'rollback:%') || ARRAY['rollback:freeze-service']
              WHERE migration = $1 AND service = $2`,
            [this.routing.names.migration, service.name],
          );
        },
        onRetry: (attempt, delayMs) => this.emit({ type: 'freeze-retry', attempt, delayMs }),
      });
      rollbackLsn = result.lsn;
    });

    await this.step('drain-reverse', () => this.drainReverse(entry, rollbackLsn, deadline));

    await this.step('verify', async () => {
      const result = await verify({
        routing: this.routing,
        tables: ownedRouteIds(service),
        alignment: 'assume-static', // both sides of the service's tables are frozen and drained
        sequences: 'advisory',
        jobs: this.options.jobs ?? DEFAULTS.jobs,
        applicationName: `${this.app} verify`,
      });
      if (!result.ok) throw verifyRefusal(result, service, 'rollback');
      verifyResult = { ok: true };
    });

    await this.step('sequences', async () => {
      sequences = await moveSequences(
        this.routing,
        service,
        'monolith',
        this.options.sequenceGap ?? DEFAULTS.sequenceGap,
      );
    });

    await this.step('unfreeze-monolith', async () =>
      unfreezeTables(
        atMonolith(this.routing.sourceUrl),
        frozenMonolithTables(service).map((t) => t.table),
        this.app,
        (c) => freezes.forget(c, service.name),
      ),
    );

    await this.step('drop-reverse', async () => {
      const api = await reverseApi();
      await api.dropReverse(this.routing, service.name);
    });

    let unavailableSeconds: number | null = null;
    await this.step('journal', async () => {
      unavailableSeconds = await this.withService(async (c) => {
        await this.journal.setPhase(c, service.name, 'rolled-back', {
          rolled_back_at: new Date().toISOString(),
        });
        // Service freeze → monolith writable again (the monolith took writes again at unfreeze).
        const { rows } = await c.query(
          `SELECT extract(epoch FROM now() - min(frozen_at))::float8 AS s FROM ${quoteQualified(stateSchema, 'freezes')}
            WHERE migration = $1 AND service = $2`,
          [this.routing.names.migration, service.name],
        );
        return (rows[0]?.s as number | null) ?? null;
      });
    });

    return {
      service: service.name,
      database: service.database,
      partial: false,
      alreadyDone: false,
      rollbackLsn: formatLsn(rollbackLsn),
      steps: this.steps,
      verify: verifyResult,
      sequences,
      unavailableSeconds,
      seconds: (Date.now() - this.started) / 1000,
    };
  }

  /**
   * Wait until the monolith holds every write the service committed before the freeze: through a
   * running `carve sync` (it runs the reverse streams; it holds the migration lock), or through a
   * reverse stream run in this process.
   */
  private async drainReverse(entry: Journal, lsn: Lsn, deadline: number): Promise<void> {
    if (entry.reverse === null) {
      // The cutover stopped before creating the reverse stream: the application was never switched.
      this.emit({
        type: 'step-skipped',
        command: 'rollback',
        step: 'drain-reverse',
        reason: 'no reverse stream was created',
      });
      return;
    }
    const api = await reverseApi();
    let own: Awaited<ReturnType<typeof api.startReverseSync>> | undefined;
    try {
      const lock = await acquireMigrationLock(
        this.routing.sourceUrl,
        this.routing.names.migration,
        'rollback',
      );
      await lock.release();
      // No carve sync runs (it would hold the migration lock): stream the service's writes here.
      own = await api.startReverseSync({
        routing: this.routing,
        services: [this.service.name],
        applicationName: `${this.app} reverse`,
      });
    } catch (error) {
      if (!isCarveError(error, 'MIGRATION_LOCKED')) throw error;
      // A carve sync runs: the reverse stream is its job.
    }
    try {
      await api.waitReverseApplied(
        this.routing,
        this.service.name,
        formatLsn(lsn),
        Math.max(0, deadline - Date.now()),
      );
    } finally {
      await own?.stop().catch(() => undefined);
    }
  }
}
