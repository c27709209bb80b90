import { CarveError } from '../../errors.js';

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
