import { isCarveError } from '../errors.js';
import type { StatusAlert } from '../migrate/status-alerts.js';
import { atMonolith, atService, withSession } from '../pg/connect.js';
import { formatLsn } from '../pg/lsn.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { reverseApi } from './reverse-link.js';
import { CutoverJournal, MonolithFreezes, type Journal } from './state.js';

/**
 * A service's phase:
 * - streaming:    the monolith serves it; the forward stream keeps its database current (also
 *                 after a rollback);
 * - cutting-over: its monolith tables are frozen but the cutover has not reached its point of no
 *                 return (running, or killed: rerun carve cutover, or carve rollback to undo);
 * - cut-over:     its database serves it; the reverse stream keeps the monolith current;
 * - rolling-back: a rollback started (running, or killed: rerun carve rollback);
 * - completed:    carve complete ran: the reverse stream is gone, the monolith's tables stay frozen.
 */
export type ServicePhase = 'streaming' | 'cutting-over' | 'cut-over' | 'rolling-back' | 'completed';

export interface ServicePhaseStatus {
  service: string;
  database: string;
  phase: ServicePhase;
  /** Monolith tables frozen for this service (schema.name). */
  frozenOnMonolith: string[];
  /** The service's tables frozen in its own database (after a rollback). */
  frozenInService: string[];
  drainLsn: string | null;
  freezeStartedAt: string | null;
  /** The journal's steps (after the point of no return). */
  steps: string[];
  switchedAt: string | null;
  /** The reverse stream, while the phase needs one (cut-over, rolling-back); null otherwise. */
  reverse: {
    running: boolean;
    appliedLsn: string | null;
    lastActivity: string | null;
    error: string | null;
  } | null;
}

/** Every service's phase, from the monolith's freeze records and each database's journal. Reads only. */
export async function readServicePhases(routing: Routing): Promise<ServicePhaseStatus[]> {
  const { names } = routing;
  const freezes = await withSession(atMonolith(routing.sourceUrl), (c) =>
    new MonolithFreezes(names.stateSchema, names.migration).read(c),
  );
  const journal = new CutoverJournal(names.stateSchema, names.migration);
  const out: ServicePhaseStatus[] = [];
  for (const service of routing.services) {
    let entry: Journal | null = null;
    let frozenInService: string[] = [];
    try {
      await withSession(atService(service.url), async (client) => {
        const { rows } = await client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present', [
          quoteQualified(names.stateSchema, 'cutovers'),
        ]);
        if (!rows[0].present) return;
        entry = await journal.read(client, service.name);
        frozenInService = (await journal.serviceFreezes(client, service.name)).map(
          (t) => `${t.schema}.${t.name}`,
        );
      });
    } catch (error) {
      // Not provisioned yet: neither the database nor carve's role exists.
      const state = sqlStateOf(error);
      if (state !== SqlState.invalidCatalogName && state !== SqlState.invalidAuthorizationSpecification)
        throw error;
    }
    const j = entry as Journal | null;
    const mine = freezes.filter((f) => f.service === service.name);
    let phase: ServicePhase = 'streaming';
    if (j?.phase === 'cut-over' || j?.phase === 'rolling-back' || j?.phase === 'completed') phase = j.phase;
    else if (mine.length) phase = 'cutting-over';
    let reverse: ServicePhaseStatus['reverse'] = null;
    if (phase === 'cut-over' || phase === 'rolling-back')
      reverse = await reverseStatus(routing, service.name);
    const freezeStartedAt =
      j && j.phase !== 'rolled-back' ? j.freezeStartedAt : (mine.map((f) => f.frozenAt).sort()[0] ?? null);
    out.push({
      service: service.name,
      database: service.database,
      phase,
      frozenOnMonolith: mine.map((f) => `${f.table.schema}.${f.table.name}`),
      frozenInService,
      drainLsn:
        j && j.phase !== 'rolled-back' ? formatLsn(j.drainLsn) : mine[0] ? formatLsn(mine[0].drainLsn) : null,
      freezeStartedAt,
      steps: j && j.phase !== 'rolled-back' ? j.steps : [],
      switchedAt: j && j.phase !== 'rolled-back' ? j.switchedAt : null,
      reverse,
    });
  }
  return out;
}

async function reverseStatus(
  routing: Routing,
  service: string,
): Promise<NonNullable<ServicePhaseStatus['reverse']>> {
  try {
    const api = await reverseApi();
    const s = await api.readReverseStatus(routing, service);
    return { running: s.running, appliedLsn: s.appliedLsn, lastActivity: s.lastActivity, error: null };
  } catch (error) {
    const message = isCarveError(error) ? `${error.code}: ${error.message}` : String(error);
    return { running: false, appliedLsn: null, lastActivity: null, error: message };
  }
}

/**
 * What `carve status` adds about the phases (a cut-over service without a running reverse stream
 * is reported by the migration's status itself: REVERSE_NOT_RUNNING, src/migrate/status-alerts.ts):
 * a service whose cutover or rollback a killed command left unfinished, its tables frozen.
 */
export function servicePhaseAlerts(phases: readonly ServicePhaseStatus[]): StatusAlert[] {
  const alerts: StatusAlert[] = [];
  for (const p of phases) {
    const unfinishedCutover =
      p.phase === 'cutting-over' || (p.phase === 'cut-over' && !p.steps.includes('switch'));
    if (unfinishedCutover || p.phase === 'rolling-back') {
      alerts.push({
        code: unfinishedCutover ? 'CUTOVER_UNFINISHED' : 'ROLLBACK_UNFINISHED',
        severity: 'warning',
        message: `Service ${p.service} is ${p.phase}${p.phase === 'cut-over' ? ' but its cutover has steps left' : ''}: its tables are frozen (${[...p.frozenOnMonolith, ...p.frozenInService].join(', ') || 'none'}) until the command finishes`,
        hint: unfinishedCutover
          ? `If no carve cutover is running, run carve cutover --plan <plan> --service ${p.service} again to finish${p.phase === 'cutting-over' ? `, or carve rollback --plan <plan> --service ${p.service} to undo the freeze` : ''}.`
          : `If no carve rollback is running, run carve rollback --plan <plan> --service ${p.service} again to finish it.`,
        details: { service: p.service, phase: p.phase, steps: p.steps },
      });
    }
  }
  return alerts;
}
