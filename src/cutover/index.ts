import type { TableRef } from '../catalog/model.js';
import { CarveError } from '../errors.js';
import { atMonolith, atService, withSession, type Client } from '../pg/connect.js';
import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { ensureMonolithSchema } from '../state/monolith-schema.js';
import { ensureStateSchema } from '../state/state-schema.js';
import { verify } from '../verify/index.js';
import { openForwardStream, type ForwardStream } from './drain.js';
import type { CutoverEvent, CutoverResult, CutoverStep, MovedSequence } from './events.js';
import { freezeTables, unfreezeTables, type FrozenTable } from './freeze.js';
import { acquireCutoverLock } from './lock.js';
import { DEFAULTS, type CutoverOptions } from './options.js';
import {
  checkBeforeFreeze,
  checkNoOtherInProgress,
  findService,
  ownedRouteIds,
  verifyRefusal,
} from './preflight.js';
import { reverseApi } from './reverse-link.js';
import { moveSequences } from './sequences.js';
import { CutoverJournal, MonolithFreezes, type Journal } from './state.js';
import { readServicePhases } from './status.js';
import { runSwitchCommand } from './switch.js';
import { planCutover } from './dry-run.js';
import { frozenMonolithTables } from './frozen-tables.js';

export type * from './events.js';
export type { CancelOptions, CompleteOptions, CutoverOptions, RollbackOptions } from './options.js';
export {
  readServicePhases,
  servicePhaseAlerts,
  type ServicePhase,
  type ServicePhaseStatus,
} from './status.js';
export { rollback } from './rollback.js';
export { complete, type CompleteResult } from './complete.js';
export { cancel, type CancelResult } from './cancel.js';
export { FROZEN_SQLSTATE } from '../state/frozen-write.js';
export { frozenMonolithTables, frozenServiceTables } from './frozen-tables.js';

/** The steps after the point of no return, in order; a rerun does those the journal lacks. */
const AFTER_JOURNAL: CutoverStep[] = ['reverse', 'unfreeze-service', 'switch'];

/**
 * Cut one service over from the monolith to its database (docs/cutover.md):
 *
 *   pre-checks → freeze the monolith's tables → drain → verify → sequences → journal (point of no
 *   return) → reverse stream → unfreeze the service's tables → switch (--on-switch)
 *
 * Before the journal any failure undoes the freeze; after it, running cutover again finishes the
 * remaining steps (a killed run included). Library code: events through onEvent, never prints.
 */
export async function cutover(options: CutoverOptions): Promise<CutoverResult> {
  const started = Date.now();
  const { routing } = options;
  const service = findService(routing, options.service);
  const emit = options.onEvent ?? (() => {});
  if (options.dryRun) {
    emit({ type: 'planned', steps: await planCutover(routing, service, options) });
    return {
      service: service.name,
      database: service.database,
      alreadyDone: false,
      resumed: false,
      drainLsn: '',
      steps: [],
      verify: null,
      sequences: [],
      reverse: null,
      unavailableSeconds: null,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const app = options.applicationName ?? `carve cutover ${service.name} (${routing.names.migration})`;
  const lock = await acquireCutoverLock(routing, 'cutover', service.name);
  try {
    return await new CutoverRun(options, service, app, emit, started).run();
  } finally {
    await lock.release();
  }
}

class CutoverRun {
  private readonly routing: Routing;
  private readonly journal: CutoverJournal;
  private readonly freezes: MonolithFreezes;
  private readonly steps: CutoverResult['steps'] = [];
  private readonly tables: FrozenTable[];

  constructor(
    private readonly options: CutoverOptions,
    private readonly service: ServiceRoute,
    private readonly app: string,
    private readonly emit: (event: CutoverEvent) => void,
    private readonly started: number,
  ) {
    this.routing = options.routing;
    const { stateSchema, migration } = this.routing.names;
    this.journal = new CutoverJournal(stateSchema, migration);
    this.freezes = new MonolithFreezes(stateSchema, migration);
    this.tables = frozenMonolithTables(service);
  }

  private async step<T>(step: CutoverStep, work: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.emit({ type: 'step-started', command: 'cutover', step });
    if (this.options.pauseAt === step) await pauseForever();
    const result = await work();
    const seconds = (Date.now() - t0) / 1000;
    this.steps.push({ step, seconds });
    this.emit({ type: 'step-done', command: 'cutover', step, seconds });
    return result;
  }

  private readJournal(): Promise<Journal | null> {
    return withSession(atService(this.service.url), async (client) => {
      await ensureStateSchema(client, this.routing.names.stateSchema);
      return this.journal.read(client, this.service.name);
    });
  }

  async run(): Promise<CutoverResult> {
    const existing = await this.readJournal();
    if (existing?.phase === 'completed') {
      throw new CarveError('CUTOVER_COMPLETED', `Service ${this.service.name} was cut over and completed`, {
        details: { service: this.service.name },
        hint: 'Nothing to do: its database serves it and the monolith copy is retired.',
      });
    }
    if (existing?.phase === 'rolling-back') {
      throw new CarveError(
        'CUTOVER_ROLLBACK_UNFINISHED',
        `A rollback of service ${this.service.name} is unfinished`,
        {
          details: { service: this.service.name },
          hint: `Finish it first: carve rollback --plan <file> --service ${this.service.name}; then cut over again.`,
        },
      );
    }
    if (existing?.phase === 'cut-over') return this.afterJournal(existing, true);

    const phases = await readServicePhases(this.routing);
    checkNoOtherInProgress(phases, this.service.name);
    let forward: ForwardStream | undefined;
    let frozen = false;
    let drainLsn: Lsn;
    let freezeStartedAt: string;
    let verifyOk: boolean;
    let sequences: MovedSequence[];
    try {
      forward = await this.step('pre-checks', async () => {
        const stream = await openForwardStream(
          this.routing,
          this.app,
          this.options.lockWaitMs,
          this.options.sinks,
        );
        forward = stream; // closed below whatever happens next
        await checkBeforeFreeze({
          routing: this.routing,
          service: this.service,
          forward: stream,
          maxLagSeconds: this.options.maxLagSeconds ?? DEFAULTS.maxLagSeconds,
          timeoutMs: this.options.timeoutMs ?? DEFAULTS.timeoutMs,
          jobs: this.options.jobs ?? DEFAULTS.jobs,
          applicationName: this.app,
        });
        return stream;
      });
      const deadline = Date.now() + (this.options.timeoutMs ?? DEFAULTS.timeoutMs);
      ({ drainLsn, freezeStartedAt } = await this.step('freeze', async () => {
        frozen = true; // from here, a failure removes whatever part of the freeze exists
        return this.freeze(deadline);
      }));
      await this.step('drain', () => this.drain(forward!, drainLsn, deadline));
      await forward.close();
      verifyOk = await this.step('verify', async () => {
        const result = await verify({
          routing: this.routing,
          tables: ownedRouteIds(this.service),
          alignment: 'assume-static', // the service's tables are frozen on the monolith and drained
          sequences: 'advisory',
          jobs: this.options.jobs ?? DEFAULTS.jobs,
          applicationName: `${this.app} verify`,
        });
        if (!result.ok) throw verifyRefusal(result, this.service, 'at-drain');
        return true;
      });
      sequences = await this.step('sequences', () =>
        moveSequences(
          this.routing,
          this.service,
          'service',
          this.options.sequenceGap ?? DEFAULTS.sequenceGap,
        ),
      );
      await this.step('journal', () =>
        withSession(atService(this.service.url), (client) =>
          this.journal.commit(client, this.service.name, drainLsn, freezeStartedAt, [
            'freeze',
            'drain',
            'verify',
            'sequences',
            'journal',
          ]),
        ),
      );
    } catch (error) {
      await forward?.close();
      if (frozen) await this.undo(error);
      throw error;
    }
    const journal = (await this.readJournal())!;
    const result = await this.afterJournal(journal, false);
    return { ...result, verify: { ok: verifyOk }, sequences };
  }

  /** Freeze (or freeze again, after a killed run) the service's monolith tables. */
  private async freeze(deadline: number): Promise<{ drainLsn: Lsn; freezeStartedAt: string }> {
    const names = this.routing.names;
    await withSession(atMonolith(this.routing.sourceUrl), (c) => ensureMonolithSchema(c, names.stateSchema));
    const tables: TableRef[] = this.tables.map((t) => t.table);
    const result = await freezeTables({
      to: atMonolith(this.routing.sourceUrl),
      stateSchema: names.stateSchema,
      tables: this.tables,
      applicationName: this.app,
      timeoutMs: Math.max(1000, deadline - Date.now()),
      record: (client, lsn) =>
        this.freezes.record(client, this.service.name, this.service.database, tables, lsn),
      onRetry: (attempt, delayMs) => this.emit({ type: 'freeze-retry', attempt, delayMs }),
    });
    const recorded = await withSession(atMonolith(this.routing.sourceUrl), (c) =>
      this.freezes.read(c, this.service.name),
    );
    // A rerun keeps the first freeze's time: the window started then.
    const freezeStartedAt = recorded.map((f) => f.frozenAt).sort()[0]!;
    return { drainLsn: result.lsn, freezeStartedAt };
  }

  private async drain(forward: ForwardStream, lsn: Lsn, deadline: number): Promise<void> {
    await forward.drain(this.service, lsn, Math.max(0, deadline - Date.now()), (applied) =>
      this.emit({
        type: 'drain-waiting',
        database: this.service.database,
        appliedLsn: formatLsn(applied),
        drainLsn: formatLsn(lsn),
      }),
    );
  }

  /** Before the point of no return: remove the freeze, the monolith takes writes again. */
  private async undo(error: unknown): Promise<void> {
    await unfreezeTables(
      atMonolith(this.routing.sourceUrl),
      this.tables.map((t) => t.table),
      this.app,
      (client) => this.freezes.forget(client, this.service.name),
    );
    this.emit({
      type: 'undone',
      command: 'cutover',
      reason:
        error instanceof CarveError ? error.code : error instanceof Error ? error.message : String(error),
    });
  }

  /** The steps after the journal, skipping those it records as done. */
  private async afterJournal(journal: Journal, resumed: boolean): Promise<CutoverResult> {
    const done = new Set(journal.steps);
    const service = this.service;
    const withJournal = <T>(fn: (client: Client) => Promise<T>) => withSession(atService(service.url), fn);
    let reverse = journal.reverse
      ? {
          slot: journal.reverse.slot,
          publication: journal.reverse.publication,
          startLsn: formatLsn(journal.reverse.startLsn),
        }
      : null;
    let switchedAt = journal.switchedAt;
    const alreadyDone = AFTER_JOURNAL.every((s) => done.has(s));
    for (const step of AFTER_JOURNAL) {
      if (done.has(step)) continue;
      if (step === 'reverse') {
        reverse = await this.step('reverse', async () => {
          const api = await reverseApi();
          const created = await api.prepareReverse(this.routing, service.name);
          await withJournal((c) =>
            this.journal.addStep(c, service.name, 'reverse', {
              reverse_slot: created.slot,
              reverse_publication: created.publication,
              reverse_start_lsn: created.startLsn,
            }),
          );
          return created;
        });
      } else if (step === 'unfreeze-service') {
        await this.step('unfreeze-service', async () => {
          const frozen = await withJournal((c) => this.journal.serviceFreezes(c, service.name));
          // After an earlier rollback the service's tables are frozen in its database: it serves them again.
          await unfreezeTables(atService(service.url), frozen, this.app, async (c) => {
            await this.journal.forgetServiceFreeze(c, service.name);
            await this.journal.addStep(c, service.name, 'unfreeze-service');
          });
        });
      } else {
        switchedAt = await this.step('switch', async () => {
          if (this.options.onSwitch) {
            await runSwitchCommand(this.options.onSwitch, this.switchEnv(journal, reverse), (stream, text) =>
              this.emit({ type: 'switch-output', stream, text }),
            );
          }
          return withJournal(async (c) => {
            const { rows } = await c.query('SELECT now()::text AS now');
            await this.journal.addStep(c, service.name, 'switch', { switched_at: rows[0].now });
            return rows[0].now as string;
          });
        });
      }
    }
    const unavailableSeconds = switchedAt
      ? await withJournal((c) => this.journal.windowSeconds(c, service.name))
      : null;
    return {
      service: service.name,
      database: service.database,
      alreadyDone,
      resumed: resumed && !alreadyDone,
      drainLsn: formatLsn(journal.drainLsn),
      steps: this.steps,
      verify: null,
      sequences: [],
      reverse,
      unavailableSeconds,
      seconds: (Date.now() - this.started) / 1000,
    };
  }

  private switchEnv(
    journal: Journal,
    reverse: { slot: string; publication: string; startLsn: string } | null,
  ): Record<string, string> {
    return {
      CARVE_MIGRATION: this.routing.names.migration,
      CARVE_SERVICE: this.service.name,
      CARVE_DATABASE: this.service.database,
      CARVE_SERVICE_ROLE: this.service.role,
      CARVE_DRAIN_LSN: formatLsn(journal.drainLsn),
      CARVE_FREEZE_STARTED_AT: journal.freezeStartedAt,
      CARVE_REVERSE_SLOT: reverse?.slot ?? '',
      CARVE_REVERSE_START_LSN: reverse?.startLsn ?? '',
      CARVE_TABLES: this.tables.map((t) => `${t.table.schema}.${t.table.name}`).join(','),
    };
  }
}

/** CARVE_TEST_PAUSE_AT: hold the process at a step so a test can kill it there. */
export function pauseForever(): Promise<never> {
  return new Promise<never>(() => {
    setInterval(() => {}, 1 << 30);
  });
}
