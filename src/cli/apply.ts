import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { applyFromKafka, type ApplyEvent } from '../events/kafka-apply.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { createCliHub } from './event-hub.js';
import { formatCount, jsonLine } from './format.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  startCliMetrics,
  type MetricsFlags,
} from './metrics-option.js';
import { runCommand } from './run-command.js';
import { abortOnSignals } from './signals.js';

export function registerApplyCommand(program: Command): void {
  addMetricsOptions(program.command('apply'))
    .description(
      'Apply one service’s change events from Kafka to its database (carve sync --sink kafka-only publishes them)',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--from <broker>', 'where the events are: kafka')
    .requiredOption('--service <name>', 'the service whose database this process applies to')
    .option('--until-caught-up', 'exit 0 once everything published when it started is applied')
    .option('--json', 'one JSON line per event')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action(
      (
        options: {
          plan: string;
          from: string;
          service: string;
          untilCaughtUp?: boolean;
          json?: boolean;
          secretsDir?: string;
        } & MetricsFlags,
      ) =>
        runCommand(options, async () => {
          if (options.from !== 'kafka') {
            throw new CarveError('USAGE', `--from must be kafka, not ${options.from}`, {
              details: { option: 'from', value: options.from },
              hint:
                options.from === 'nats'
                  ? 'carve apply reads Kafka only: with events on NATS, apply the service databases in process (carve sync without --sink).'
                  : 'Use --from kafka.',
            });
          }
          checkMetricsFlags(options);
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const hub = createCliHub<{ apply: ApplyEvent }>();
          hub.on('apply', (event) => printApplyEvent(event, options.json === true));
          // The apply's events are not the sync engine's: its metrics are the ones read from the
          // databases (applied positions, lag, slot, phases) and the process's own.
          const stopMetrics = await startCliMetrics(options, routing, undefined);
          const result = await applyFromKafka({
            routing,
            service: options.service,
            untilCaughtUp: options.untilCaughtUp === true,
            onEvent: hub.emitter('apply'),
            signal: abortOnSignals(),
          }).finally(stopMetrics);
          if (options.untilCaughtUp && result.reason !== 'caught-up') {
            process.stderr.write('carve: apply stopped before it caught up; run it again to continue.\n');
            return { exit: 'incomplete' };
          }
        }),
    );
}

let lastBatchLine = 0;

function printApplyEvent(event: ApplyEvent, json: boolean): void {
  if (json) {
    process.stdout.write(jsonLine(event));
    return;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  switch (event.type) {
    case 'apply-started':
      say(`carve apply: ${event.service} → ${event.database} from ${event.topics.length} topic(s)`);
      return;
    case 'standby':
      say(`${event.database}: another carve apply is applying; standing by`);
      return;
    case 'session-started':
      say(
        `${event.database}: applied up to ${event.position}, reading checkpoints from offset ${event.checkpointOffset}`,
      );
      return;
    case 'batch-applied':
      if (Date.now() - lastBatchLine >= 1000) {
        lastBatchLine = Date.now();
        say(`${event.database}: applied ${formatCount(event.changes)} changes, position ${event.position}`);
      }
      return;
    case 'reconnecting':
      say(
        `reconnecting in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt}): ${event.error.code} ${event.error.message}`,
      );
      return;
    case 'caught-up':
      say(`${event.database}: caught up with ${event.lsn}`);
      return;
    case 'apply-stopped':
      say(`${event.database}: stopped (${event.reason}) at ${event.position}`);
      return;
  }
}
