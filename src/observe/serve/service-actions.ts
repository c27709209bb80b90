import { exitCategoryOf, type CarveErrorCode } from '../../error-catalogue.js';
import { CarveError, isCarveError } from '../../errors.js';

export type ServiceActionName = 'cutover' | 'rollback';

export interface ServiceActionResult {
  /** What the action reports when it is done (shown on the page, logged). */
  message: string;
}

/** A step of a running action, for the page (the engine's step events, in words). */
export type ServiceActionProgress = (step: string, state: 'started' | 'done' | 'info', text: string) => void;

/**
 * What the dashboard's buttons run, one service at a time. src/cli/serve-actions.ts provides the
 * real ones (the cutover engine, which observe does not import: layer rule, eslint.config.js);
 * without them the answer is SERVE_ACTION_UNAVAILABLE (the page shows it).
 */
export interface ServiceActions {
  cutover(service: string, progress: ServiceActionProgress): Promise<ServiceActionResult>;
  rollback(service: string, progress: ServiceActionProgress): Promise<ServiceActionResult>;
}

export const unavailableActions: ServiceActions = {
  cutover: (service) => Promise.reject(unavailable('cutover', service)),
  rollback: (service) => Promise.reject(unavailable('rollback', service)),
};

function unavailable(action: ServiceActionName, service: string): CarveError {
  return new CarveError(
    'SERVE_ACTION_UNAVAILABLE',
    `This dashboard cannot ${action === 'cutover' ? 'cut over' : 'roll back'} ${service}: it was started without actions`,
    {
      details: { action, service },
      hint: `Nothing was changed. Run carve ${action} --plan <plan> --service ${service}, or use the page of carve serve, which runs it.`,
    },
  );
}

/**
 * Refusals: the action was not run because of the migration's state (a pre-check, another action
 * running, a service in the wrong phase). Nothing was changed and the request was well formed, so
 * the answer is 409 Conflict with the engine's code and hint, not a server failure.
 */
const REFUSALS: ReadonlySet<CarveErrorCode> = new Set<CarveErrorCode>([
  'CUTOVER_BUSY',
  'CUTOVER_MIGRATION_BUSY',
  'CUTOVER_OTHER_SERVICE_IN_PROGRESS',
  'CUTOVER_COPY_UNFINISHED',
  'CUTOVER_SLOT_UNHEALTHY',
  'CUTOVER_LAG_TOO_HIGH',
  'CUTOVER_VERIFY_FAILED',
  'CUTOVER_COMPLETED',
  'CUTOVER_ROLLBACK_UNFINISHED',
  'ROLLBACK_NOT_CUT_OVER',
  'ROLLBACK_COMPLETED',
]);

/**
 * The HTTP status of a failed action: 501 without actions, 400 for a request carve calls a usage
 * error, 409 for a refusal (above), 504 when a step timed out (the freeze was undone), else 500.
 */
export function actionFailureStatus(error: unknown): number {
  if (!isCarveError(error)) return 500;
  if (error.code === 'SERVE_ACTION_UNAVAILABLE') return 501;
  if (REFUSALS.has(error.code)) return 409;
  if (error.code === 'CUTOVER_FREEZE_LOCK_TIMEOUT' || error.code === 'CUTOVER_DRAIN_TIMEOUT') return 504;
  return exitCategoryOf(error.code) === 'usage' ? 400 : 500;
}
