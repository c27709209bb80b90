import type { Command } from 'commander';
import { rollback } from '../cutover/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { printEvent } from './cutover.js';
import { durationFlag, optionalNumberFlag } from './flag-values.js';
import { formatSeconds, jsonLine } from './format.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  startCliMetricsEndpoint,
  type MetricsFlags,
} from './metrics-option.js';
import { runCommand } from './run-command.js';
import { metricsFeed } from './serve-actions.js';

interface RollbackCliOptions extends MetricsFlags {
  plan: string;
  service: string;
  timeout: string;
  sequenceGap?: string;
  dryRun?: boolean;
  json?: boolean;
  secretsDir?: string;
}

export function registerRollbackCommand(program: Command): void {
  addMetricsOptions(program.command('rollback'))
    .description(
      'Give a cut-over service back to the monolith: freeze its tables in its database, drain the reverse stream, verify, sequences, unfreeze the monolith',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--service <name>', 'the service to roll back')
    .option('--timeout <duration>', 'freeze and reverse drain must succeed within this', '30s')
    .option('--sequence-gap <n>', "move the monolith's sequences this far past the service's (default 1000)")
    .option('--dry-run', 'print every step and the SQL it would run; write nothing')
    .option('--json', 'print events and the result as JSON lines')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: RollbackCliOptions) =>
      runCommand(options, async () => {
        checkMetricsFlags(options);
        const timeoutMs = durationFlag('--timeout', options.timeout, { minMs: 1000, maxMs: 86_400_000 });
        const sequenceGap = optionalNumberFlag('--sequence-gap', options.sequenceGap, {
          min: 0,
          max: 1e12,
          integer: true,
          example: '1000',
        });
        const { routing } = await prepareRouting(options.plan, {
          logins: { secretsDir: options.secretsDir },
        });
        const { metrics, stop: stopMetrics } = await startCliMetricsEndpoint(options, routing, undefined);
        // A dry run changes nothing: nothing to count.
        const feed = metricsFeed(options.dryRun ? undefined : metrics, 'rollback', options.service);
        const result = await rollback({
          routing,
          service: options.service,
          timeoutMs,
          ...(sequenceGap === undefined ? {} : { sequenceGap }),
          dryRun: options.dryRun === true,
          onEvent: (event) => {
            feed.onEvent(event);
            printEvent(event, options.json === true);
          },
          ...(process.env.CARVE_TEST_PAUSE_AT ? { pauseAt: process.env.CARVE_TEST_PAUSE_AT } : {}),
        })
          .then(feed.done, feed.failed)
          .finally(stopMetrics);
        if (options.json) process.stdout.write(jsonLine({ type: 'result', ...result }));
        else if (!options.dryRun) {
          const what = result.alreadyDone
            ? `service ${result.service} was already rolled back`
            : result.partial
              ? `service ${result.service}: the unfinished cutover's freeze was removed; the monolith serves it`
              : `service ${result.service} rolled back to the monolith (its tables stay frozen in ${result.database})`;
          process.stdout.write(
            `${what}\n` +
              (result.unavailableSeconds === null
                ? ''
                : `  writes unavailable: ${formatSeconds(result.unavailableSeconds)}\n`) +
              `  rollback took ${formatSeconds(result.seconds)}\n`,
          );
        }
      }),
    );
}
