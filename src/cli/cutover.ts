import type { Command } from 'commander';
import { cutover, type CutoverResult } from '../cutover/index.js';
import { eventSinks } from '../events/index.js';
import { durationFlag } from './flag-values.js';
import { formatSeconds } from './format.js';
import { runServiceStep, serviceStepCommand, type ServiceStepFlags } from './service-step.js';

interface CutoverCliOptions extends ServiceStepFlags {
  maxLag: string;
  lockWait: string;
  onSwitch?: string;
}

export function registerCutoverCommand(program: Command): void {
  serviceStepCommand(program, 'cutover', {
    description:
      "Move one service from the monolith to its database: pre-checks, freeze the monolith's tables, drain, verify, sequences, journal, reverse stream, switch",
    service: 'the service to cut over',
    timeout:
      'the pre-checks (catch-up, verify’s consistent read) must finish within this, and freeze and drain too, else the freeze is undone',
    sequenceGap: "move the service's sequences this far past the monolith's (default 1000)",
  })
    .option('--max-lag <duration>', 'refuse when the service database lags more than this', '5s')
    .option(
      '--lock-wait <duration>',
      'how long to wait for the migration lock before following the carve sync that holds it (a sync killed a moment ago may still hold it); 0s when one surely runs',
      '3s',
    )
    .option(
      '--on-switch <command>',
      'run this (sh -c) to switch the application, with CARVE_SERVICE, CARVE_DATABASE, CARVE_DRAIN_LSN … set',
    )
    .action((options: CutoverCliOptions) => {
      let maxLagMs = 0;
      let lockWaitMs = 0;
      return runServiceStep(
        options,
        'cutover',
        (step) =>
          cutover({
            ...step,
            // The forward stream cutover runs when no carve sync does publishes like carve sync.
            sinks: eventSinks(step.routing),
            maxLagSeconds: maxLagMs / 1000,
            lockWaitMs,
            ...(options.onSwitch ? { onSwitch: options.onSwitch } : {}),
          }),
        describeCutover,
        () => {
          maxLagMs = durationFlag('--max-lag', options.maxLag, { minMs: 0, maxMs: 3_600_000 });
          // 0 (no wait) is a valid answer here, which durations elsewhere are not.
          lockWaitMs = /^0+(\.0*)?(ms|s)?$/.test(options.lockWait.trim())
            ? 0
            : durationFlag('--lock-wait', options.lockWait, { minMs: 0, maxMs: 600_000 });
        },
      );
    });
}

function describeCutover(result: CutoverResult): string {
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
  return `${lines.join('\n')}\n`;
}
