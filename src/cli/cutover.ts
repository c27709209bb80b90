import type { Command } from 'commander';
import { cutover, type CutoverEvent, type PlannedStep } from '../cutover/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
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

interface CutoverCliOptions extends MetricsFlags {
  plan: string;
  service: string;
  maxLag: string;
  timeout: string;
  sequenceGap?: string;
  dryRun?: boolean;
  onSwitch?: string;
  json?: boolean;
  secretsDir?: string;
}

export function registerCutoverCommand(program: Command): void {
  addMetricsOptions(program.command('cutover'))
    .description(
      "Move one service from the monolith to its database: pre-checks, freeze the monolith's tables, drain, verify, sequences, journal, reverse stream, switch",
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--service <name>', 'the service to cut over')
    .option('--max-lag <duration>', 'refuse when the service database lags more than this', '5s')
    .option(
      '--timeout <duration>',
      'freeze and drain must succeed within this, else the freeze is undone',
      '30s',
    )
    .option('--sequence-gap <n>', "move the service's sequences this far past the monolith's (default 1000)")
    .option('--dry-run', 'print every step and the SQL it would run; write nothing')
    .option(
      '--on-switch <command>',
      'run this (sh -c) to switch the application, with CARVE_SERVICE, CARVE_DATABASE, CARVE_DRAIN_LSN … set',
    )
    .option('--json', 'print events and the result as JSON lines')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: CutoverCliOptions) =>
      runCommand(options, async () => {
        const maxLagMs = durationFlag('--max-lag', options.maxLag, { minMs: 0, maxMs: 3_600_000 });
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
        const feed = metricsFeed(options.dryRun ? undefined : metrics, 'cutover', options.service);
        const result = await cutover({
          routing,
          service: options.service,
          maxLagSeconds: maxLagMs / 1000,
          timeoutMs,
          ...(sequenceGap === undefined ? {} : { sequenceGap }),
          dryRun: options.dryRun === true,
          ...(options.onSwitch ? { onSwitch: options.onSwitch } : {}),
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
          const lines = [
            result.alreadyDone
              ? `service ${result.service} was already cut over to ${result.database}`
              : `service ${result.service} cut over to ${result.database}${result.resumed ? ' (finished an interrupted cutover)' : ''}`,
            `  drain point ${result.drainLsn}`,
            ...(result.reverse
              ? [`  reverse stream: slot ${result.reverse.slot} from ${result.reverse.startLsn}`]
              : []),
            `  writes unavailable: ${result.unavailableSeconds === null ? 'unknown' : formatSeconds(result.unavailableSeconds)} (freeze → switch)`,
            `  cutover took ${formatSeconds(result.seconds)}`,
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      }),
    );
}

/** Progress on stderr (stdout keeps the result), or every event as a JSON line. */
export function printEvent(event: CutoverEvent, json: boolean): void {
  if (json) {
    process.stdout.write(jsonLine(event));
    return;
  }
  switch (event.type) {
    case 'planned':
      process.stdout.write(renderPlan(event.steps));
      break;
    case 'step-started':
      process.stderr.write(`${event.command}: ${event.step} …\n`);
      break;
    case 'step-done':
      process.stderr.write(`${event.command}: ${event.step} done (${formatSeconds(event.seconds)})\n`);
      break;
    case 'step-skipped':
      process.stderr.write(`${event.command}: ${event.step} skipped: ${event.reason}\n`);
      break;
    case 'freeze-retry':
      process.stderr.write(
        `  tables busy, lock attempt ${event.attempt} failed; retrying in ${event.delayMs} ms\n`,
      );
      break;
    case 'undone':
      process.stderr.write(
        `${event.command}: the freeze was undone (${event.reason}): the monolith takes writes again\n`,
      );
      break;
    case 'switch-output':
      process.stderr.write(event.text);
      break;
    case 'drain-waiting':
      break;
  }
}

export function renderPlan(steps: readonly PlannedStep[]): string {
  const out: string[] = [];
  steps.forEach((s, i) => {
    out.push(`${i + 1}. ${s.step} (${s.on}): ${s.description}`);
    for (const sql of s.sql) out.push(`     ${sql.replaceAll('\n', '\n     ')};`);
  });
  return `${out.join('\n')}\n`;
}
