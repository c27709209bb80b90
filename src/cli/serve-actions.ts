import { cutover, rollback, type CutoverEvent } from '../cutover/index.js';
import type { MigrationMetrics } from '../observe/migration-metrics.js';
import type { ServiceActionProgress, ServiceActions } from '../observe/serve/service-actions.js';
import type { Routing } from '../routing/model.js';
import { formatSeconds } from './format.js';

/**
 * The dashboard's cutover and rollback buttons: the cutover engine with the defaults of
 * `carve cutover` / `carve rollback` (no --on-switch: the page cannot run commands), each step sent
 * to the page as it happens, the outcome counted in this process's metrics when it has any.
 * The engine takes its own lock, so a button pressed twice (or beside a command) is refused.
 */
export function cutoverServiceActions(
  routing: Routing,
  metrics: () => MigrationMetrics | undefined = () => undefined,
): ServiceActions {
  return {
    async cutover(service, progress) {
      try {
        const result = await cutover({ routing, service, onEvent: (e) => reportStep(e, progress) });
        metrics()?.recordServiceAction({
          action: 'cutover',
          service,
          outcome: 'ok',
          windowSeconds: result.alreadyDone ? null : result.unavailableSeconds,
        });
        const window =
          result.unavailableSeconds === null
            ? ''
            : `, writes unavailable ${formatSeconds(result.unavailableSeconds)}`;
        return {
          message: result.alreadyDone
            ? `service ${service} was already cut over to ${result.database}`
            : `service ${service} cut over to ${result.database}${result.resumed ? ' (finished an interrupted cutover)' : ''}${window}, took ${formatSeconds(result.seconds)}`,
        };
      } catch (error) {
        metrics()?.recordServiceAction({
          action: 'cutover',
          service,
          outcome: 'failed',
          windowSeconds: null,
        });
        throw error;
      }
    },
    async rollback(service, progress) {
      try {
        const result = await rollback({ routing, service, onEvent: (e) => reportStep(e, progress) });
        metrics()?.recordServiceAction({
          action: 'rollback',
          service,
          outcome: 'ok',
          windowSeconds: result.alreadyDone ? null : result.unavailableSeconds,
        });
        const what = result.alreadyDone
          ? `service ${service} was already rolled back`
          : result.partial
            ? `service ${service}: the unfinished cutover's freeze was removed; the monolith serves it`
            : `service ${service} rolled back to the monolith`;
        const window =
          result.unavailableSeconds === null
            ? ''
            : `, writes unavailable ${formatSeconds(result.unavailableSeconds)}`;
        return { message: `${what}${window}, took ${formatSeconds(result.seconds)}` };
      } catch (error) {
        metrics()?.recordServiceAction({
          action: 'rollback',
          service,
          outcome: 'failed',
          windowSeconds: null,
        });
        throw error;
      }
    },
  };
}

/** The engine's step events, in the words `carve cutover` prints them (switch output stays out). */
function reportStep(event: CutoverEvent, progress: ServiceActionProgress): void {
  switch (event.type) {
    case 'step-started':
      return progress(event.step, 'started', `${event.step} …`);
    case 'step-done':
      return progress(event.step, 'done', `${event.step} done (${formatSeconds(event.seconds)})`);
    case 'step-skipped':
      return progress(event.step, 'info', `${event.step} skipped: ${event.reason}`);
    case 'freeze-retry':
      return progress('freeze', 'info', `tables busy, lock attempt ${event.attempt} failed; retrying`);
    case 'undone':
      return progress(
        'undo',
        'info',
        `the freeze was undone (${event.reason}): the monolith takes writes again`,
      );
    default:
      return;
  }
}
