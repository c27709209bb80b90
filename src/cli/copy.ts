import type { Command } from 'commander';
import { copy } from '../copy/index.js';
import { copySnapshotOptions } from '../events/index.js';
import { buildIndexesWithProvision } from '../migrate/index-builder.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { createCopyReporter, renderCopySummary } from './copy-progress.js';
import { createCliHub } from './event-hub.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  startCliMetrics,
  type MetricsFlags,
} from './metrics-option.js';
import { parsePositiveNumber } from './flag-values.js';
import { jsonLine } from './format.js';
import { runCommand } from './run-command.js';
import { abortOnSignals } from './signals.js';

export { buildIndexesWithProvision };

export function registerCopyCommand(program: Command): void {
  addMetricsOptions(program.command('copy'))
    .description(
      'Copy every routed table from the monolith into the service databases, snapshot-consistent and resumable',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--jobs <n>', 'parallel copy workers (default: cores, at least 2)')
    .option('--resume', 'continue a copy that stopped (crash, kill, failed chunks)')
    .option('--chunk-size <MB>', 'target size of a chunk in MB (default 128)')
    .option('--json', 'one JSON line per event, and a JSON summary')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action(
      (
        options: {
          plan: string;
          jobs?: string;
          resume?: boolean;
          chunkSize?: string;
          json?: boolean;
          secretsDir?: string;
        } & MetricsFlags,
      ) =>
        runCommand(options, async () => {
          const jobs = parsePositiveNumber('--jobs', options.jobs);
          const chunkMb = parsePositiveNumber('--chunk-size', options.chunkSize);
          checkMetricsFlags(options);
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const reporter = createCopyReporter({ json: options.json === true });
          const hub = createCliHub();
          hub.on('copy', reporter.onEvent);
          const signal = abortOnSignals();
          const stopMetrics = await startCliMetrics(options, routing, hub);
          let result;
          try {
            result = await copy({
              routing,
              jobs: jobs === undefined ? undefined : Math.floor(jobs),
              resume: options.resume === true,
              chunkBytes:
                chunkMb === undefined ? undefined : Math.max(8192, Math.round(chunkMb * 1024 * 1024)),
              buildIndexes: buildIndexesWithProvision,
              ...copySnapshotOptions(routing),
              onEvent: hub.emitter('copy'),
              signal,
            });
          } finally {
            reporter.stop();
            await stopMetrics();
          }
          // stdout stays one kind of output: JSON lines when the events went there (--json, or not
          // a terminal), the summary table otherwise; a person reading a non-terminal gets both.
          const eventsAsJson = options.json === true || !process.stderr.isTTY;
          if (eventsAsJson) process.stdout.write(jsonLine({ type: 'summary', ...result }));
          if (!options.json)
            (eventsAsJson ? process.stderr : process.stdout).write(`${renderCopySummary(result)}\n`);
          if (!result.complete) {
            process.stderr.write(
              `carve: the copy is incomplete (${result.failed.length} chunk(s) failed${signal.aborted ? ', interrupted' : ''}); run \`carve copy --plan ${options.plan} --resume\` to finish it.\n`,
            );
            return { exit: 'incomplete' };
          }
        }),
    );
}
