import { CarveError } from '../../errors.js';

export type ServiceActionName = 'cutover' | 'rollback';

export interface ServiceActionResult {
  /** What the action reports when it is done (shown on the page, logged). */
  message: string;
}

/**
 * What the dashboard's buttons run, one service at a time. The cutover engine provides the real
 * ones; a carve without it answers SERVE_ACTION_UNAVAILABLE (the page shows it).
 */
export interface ServiceActions {
  cutover(service: string): Promise<ServiceActionResult>;
  rollback(service: string): Promise<ServiceActionResult>;
}

export const unavailableActions: ServiceActions = {
  cutover: (service) => Promise.reject(unavailable('cutover', service)),
  rollback: (service) => Promise.reject(unavailable('rollback', service)),
};

function unavailable(action: ServiceActionName, service: string): CarveError {
  return new CarveError(
    'SERVE_ACTION_UNAVAILABLE',
    `This carve cannot ${action === 'cutover' ? 'cut over' : 'roll back'} ${service} yet`,
    {
      details: { action, service },
      hint: 'Cutover and rollback come with carve cutover; until then nothing was changed.',
    },
  );
}
