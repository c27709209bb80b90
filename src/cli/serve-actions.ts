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
      const feed = metricsFeed(metrics(), 'cutover', service);
      const result = await cutover({
        routing,
        service,
        onEvent: (e) => {
          feed.onEvent(e);
          reportStep(e, progress);
        },
      }).then(feed.done, feed.failed);
      const window =
        result.unavailableSeconds === null
          ? ''
          : `, writes unavailable ${formatSeconds(result.unavailableSeconds)}`;
      return {
        message: result.alreadyDone
          ? `service ${service} was already cut over to ${result.database}`
          : `service ${service} cut over to ${result.database}${result.resumed ? ' (finished an interrupted cutover)' : ''}${window}, took ${formatSeconds(result.seconds)}`,
      };
    },
    async rollback(service, progress) {
      const feed = metricsFeed(metrics(), 'rollback', service);
      const result = await rollback({
        routing,
        service,
        onEvent: (e) => {
          feed.onEvent(e);
          reportStep(e, progress);
        },
      }).then(feed.done, feed.failed);
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
    },
  };
}

/**
 * What a cutover or rollback run in this process tells its metrics (none without --metrics-port):
 * the window opens when the freeze step starts and grows until the end, where the engine's own
 * measure replaces it; the outcome is counted, a failure as an error of its kind. Used by the
 * dashboard's actions and by carve cutover / carve rollback.
 */
export function metricsFeed(
  metrics: MigrationMetrics | undefined,
  action: 'cutover' | 'rollback',
  service: string,
): {
  onEvent: (event: CutoverEvent) => void;
  done: <R extends { alreadyDone: boolean; unavailableSeconds: number | null }>(result: R) => R;
  failed: (error: unknown) => never;
} {
  return {
    onEvent(event) {
      if (event.type === 'step-started' && (event.step === 'freeze' || event.step === 'freeze-service'))
        metrics?.openServiceWindow(service);
    },
    done(result) {
      metrics?.recordServiceAction({
        action,
        service,
        outcome: 'ok',
        windowSeconds: result.alreadyDone ? null : result.unavailableSeconds,
      });
      return result;
    },
    failed(error) {
      metrics?.recordServiceAction({ action, service, outcome: 'failed', windowSeconds: null });
      throw error;
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
