import type { Command } from 'commander';
import { copySnapshotOptions, eventSinks } from '../events/index.js';
import type { MigrateEvent } from '../migrate/events.js';
import { migrate } from '../migrate/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { buildIndexesWithProvision } from './copy.js';
import { parsePositiveNumber } from './flag-values.js';
import { createCopyReporter } from './copy-progress.js';
import { createCliHub } from './event-hub.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  startCliMetrics,
  type MetricsFlags,
} from './metrics-option.js';
import { formatSeconds, jsonLine } from './format.js';
import { renderMigrateReport } from './migrate-report.js';
import { runCommand } from './run-command.js';
import { addServeOptions, checkServeFlags, startServeFlag, type ServeFlags } from './serve-option.js';
import { abortOnSignals } from './signals.js';

export function registerMigrateCommand(program: Command): void {
  addServeOptions(addMetricsOptions(program.command('migrate')))
    .description('The whole job, resumable: provision → copy → stream until caught up → verify → report')
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--follow', 'keep streaming after the report, until interrupted')
    .option('--jobs <n>', 'parallel workers for copy and verify (default: cores, at least 2)')
    .option('--chunk-size <MB>', 'copy chunk size in MB (default 128)')
    .option(
      '--secrets-dir <dir>',
      'where generated role passwords are written (mode 0600) and carve reads its own (default ~/.carve/secrets/<migration>)',
    )
    .option('--json', 'one JSON line per event, then the report')
    .action(
      (
        options: {
          plan: string;
          follow?: boolean;
          jobs?: string;
          chunkSize?: string;
          secretsDir?: string;
          json?: boolean;
        } & MetricsFlags &
          ServeFlags,
      ) =>
        runCommand(options, async () => {
          const jobs = parsePositiveNumber('--jobs', options.jobs);
          const chunkMb = parsePositiveNumber('--chunk-size', options.chunkSize);
          checkMetricsFlags(options);
          checkServeFlags(options);
          // Known carve role passwords now (a re-run); migrate picks up new ones after provision.
          const prepared = await prepareRouting(options.plan, { logins: { secretsDir: options.secretsDir } });
          const signal = abortOnSignals();
          const printer = createMigratePrinter(options.json === true);
          const hub = createCliHub();
          const stopMetrics = await startCliMetrics(options, prepared.routing, hub);
          const stopDashboard = await startServeFlag(options, prepared.routing, hub);
          const report = await migrate({
            prepared,
            buildIndexes: buildIndexesWithProvision,
            jobs: jobs === undefined ? undefined : Math.floor(jobs),
            chunkBytes: chunkMb === undefined ? undefined : Math.round(chunkMb * 1024 * 1024),
            secretsDir: options.secretsDir,
            follow: options.follow === true,
            sinks: eventSinks(prepared.routing),
            copySnapshot: copySnapshotOptions,
            events: hub,
            onEvent: printer.onEvent,
            signal,
          }).finally(async () => {
            printer.stop();
            await stopDashboard();
            await stopMetrics();
          });
          if (!report.ok) {
            if (!report.verify) {
              process.stderr.write(
                `carve: the migration stopped before it was verified; run the same command again to continue.\n`,
              );
              return { exit: 'incomplete' };
            }
            return { exit: 'mismatch' };
          }
          if (!options.follow && !options.json && !signal.aborted) {
            // The slot stays, and keeps WAL on the monolith, until streaming resumes or it is dropped.
            process.stderr.write(
              `carve: the monolith keeps WAL for replication slot ${prepared.routing.names.slot} until it is read: ` +
                `keep the services in step with \`carve sync --plan ${options.plan}\`, or drop it with \`carve teardown --plan ${options.plan} --yes\`.\n`,
            );
          }
        }),
    );
}

/**
 * Output of `carve migrate`: with --json every event as a JSON line (per-batch sync events left
 * out); otherwise the steps, the copy's progress bars, the events an operator must see, the report.
 */
export function createMigratePrinter(json: boolean, extraReport: () => [string, string][] = () => []) {
  const out = (text: string) => process.stdout.write(text);
  let copyReporter: ReturnType<typeof createCopyReporter> | undefined;
  return {
    onEvent(event: MigrateEvent) {
      if (json) {
        if (event.type === 'sync' && (event.event.type === 'batch-applied' || event.event.type === 'lag'))
          return;
        out(jsonLine(event));
        return;
      }
      switch (event.type) {
        case 'migrate-started':
          out(`carve migrate ${event.migration}: ${event.description}\n`);
          break;
        case 'step-started':
          out(`\n▶ ${event.step}\n`);
          if (event.step === 'copy')
            copyReporter = createCopyReporter({ json: false, stream: process.stdout, plain: true });
          break;
        case 'step-done':
          if (event.step === 'copy') copyReporter?.stop();
          out(`✓ ${event.step} (${formatSeconds(event.seconds)})\n`);
          break;
        case 'provision':
          if (event.event.type === 'created' && event.event.kind === 'database')
            out(`  created database ${event.event.name}\n`);
          break;
        case 'copy':
          copyReporter?.onEvent(event.event);
          break;
        case 'sync': {
          const e = event.event;
          if (e.type === 'caught-up') out(`  caught up with ${e.lsn}\n`);
          else if (e.type === 'reconnecting')
            out(`  reconnecting (attempt ${e.attempt}): ${e.error.code} ${e.error.message}\n`);
          else if (e.type === 'column-added')
            out(`  added column ${e.column} to ${e.table} in ${e.database}\n`);
          else if (e.type === 'sequences-failed')
            out(`  warning: sequences not moved: ${e.error.code} ${e.error.message}\n`);
          else if (e.type === 'partition-added') out(`  created partition ${e.table} in ${e.database}\n`);
          break;
        }
        case 'verify': {
          const e = event.event;
          if (e.type === 'aligned') out(`  targets held at ${e.lsn} (${e.alignment})\n`);
          else if (e.type === 'route-done' && e.result.status !== 'ok')
            out(
              `  DIFFERS ${e.result.routeId}: ${e.result.missing} missing, ${e.result.extra} extra, ${e.result.different} different\n`,
            );
          else if (e.type === 'foreign-key-done' && e.result.status === 'orphans')
            out(
              `  ORPHANS ${e.result.name}: ${e.result.orphans.length + e.result.truncated} rows in ${e.result.from.database}\n`,
            );
          break;
        }
        case 'migrate-finished':
          out(`\n${renderMigrateReport(event.report, extraReport())}`);
          break;
      }
    },
    stop() {
      copyReporter?.stop();
    },
  };
}
