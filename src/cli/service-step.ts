import type { Command } from 'commander';
import type { CutoverEvent, PlannedStep, RollbackOptions } from '../cutover/index.js';
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

/**
 * What `carve cutover` and `carve rollback` share: the flags, the metrics endpoint and feed, the
 * progress printer, and the result as text or JSON. Each command adds its own flags and words.
 */

export interface ServiceStepFlags extends MetricsFlags {
  plan: string;
  service: string;
  timeout: string;
  sequenceGap?: string;
  dryRun?: boolean;
  json?: boolean;
  secretsDir?: string;
}

/** The engine options both steps take, as the flags gave them (RollbackOptions is their common part). */
export type ServiceStepOptions = Required<
  Pick<RollbackOptions, 'routing' | 'service' | 'timeoutMs' | 'dryRun' | 'onEvent'>
> &
  Pick<RollbackOptions, 'sequenceGap' | 'pauseAt'>;

/** Declares a service step's command with the flags both share; `timeout` is the step's own help. */
export function serviceStepCommand(
  program: Command,
  name: 'cutover' | 'rollback',
  text: { description: string; service: string; timeout: string; sequenceGap: string },
): Command {
  return addMetricsOptions(program.command(name))
    .description(text.description)
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--service <name>', text.service)
    .option('--timeout <duration>', text.timeout, '30s')
    .option('--sequence-gap <n>', text.sequenceGap)
    .option('--dry-run', 'print every step and the SQL it would run; write nothing')
    .option('--json', 'print events and the result as JSON lines')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    );
}

/**
 * Runs one service step under runCommand: reads the shared flags (after the command's own checks in
 * `checkOwnFlags`), serves metrics when asked, prints progress, and prints the result: `--json` as a
 * result line, else `describe(result)` (nothing for a dry run, whose plan was the output).
 */
export function runServiceStep<R extends { alreadyDone: boolean; unavailableSeconds: number | null }>(
  options: ServiceStepFlags,
  name: 'cutover' | 'rollback',
  run: (step: ServiceStepOptions) => Promise<R>,
  describe: (result: R) => string,
  checkOwnFlags: () => void = () => {},
): Promise<void> {
  return runCommand(options, async () => {
    checkOwnFlags();
    checkMetricsFlags(options);
    const timeoutMs = durationFlag('--timeout', options.timeout, { minMs: 1000, maxMs: 86_400_000 });
    const sequenceGap = optionalNumberFlag('--sequence-gap', options.sequenceGap, {
      min: 0,
      max: 1e12,
      integer: true,
      example: '1000',
    });
    const { routing } = await prepareRouting(options.plan, { logins: { secretsDir: options.secretsDir } });
    const { metrics, stop: stopMetrics } = await startCliMetricsEndpoint(options, routing, undefined);
    // A dry run changes nothing: nothing to count.
    const feed = metricsFeed(options.dryRun ? undefined : metrics, name, options.service);
    const result = await run({
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
    else if (!options.dryRun) process.stdout.write(describe(result));
  });
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
