import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { eventSinks } from '../events/index.js';
import { checkAppliableFromKafka } from '../events/kafka-apply.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { runBesideForward } from '../reverse/beside-forward.js';
import type { ReverseEvent } from '../reverse/events.js';
import { startSync } from '../sync/index.js';
import type { SyncEvent, TargetLag } from '../sync/events.js';
import { createCliHub } from './event-hub.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  startCliMetrics,
  type MetricsFlags,
} from './metrics-option.js';
import { formatBytes, formatCount, formatLag, jsonLine } from './format.js';
import { runCommand } from './run-command.js';
import { addServeOptions, checkServeFlags, startServeFlag, type ServeFlags } from './serve-option.js';
import { abortOnSignals } from './signals.js';

export function registerSyncCommand(program: Command): void {
  addServeOptions(addMetricsOptions(program.command('sync')))
    .description('Stream the monolith’s changes into the service databases (after carve copy), until stopped')
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--until-caught-up', 'exit 0 once everything the monolith had committed at start is applied')
    .option('--json', 'one JSON line per event (lag every second)')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords (and, with --serve-port, the dashboard token) are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .option(
      '--sink <which>',
      'all: apply in process and publish the plan’s events; events-only (kafka-only): publish only (carve apply elsewhere)',
      'all',
    )
    .action(
      (
        options: { plan: string; untilCaughtUp?: boolean; json?: boolean; sink: string } & MetricsFlags &
          ServeFlags,
      ) =>
        runCommand(options, async () => {
          if (options.sink !== 'all' && options.sink !== 'kafka-only' && options.sink !== 'events-only') {
            throw new CarveError(
              'USAGE',
              `--sink must be all, events-only or kafka-only, not ${options.sink}`,
              {
                hint: 'Use --sink all (the default) or --sink events-only.',
              },
            );
          }
          checkMetricsFlags(options);
          checkServeFlags(options);
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          if (options.sink === 'kafka-only' && !routing.events?.kafka) {
            throw new CarveError('SYNC_NO_SINK', `--sink kafka-only needs events.kafka in the plan`, {
              hint: 'Add an events: section with kafka: { brokers, topic_prefix } to the plan (docs/events.md).',
            });
          }
          if (options.sink === 'events-only' && !routing.events) {
            throw new CarveError('SYNC_NO_SINK', `--sink events-only needs an events: section in the plan`, {
              hint: 'Add an events: section with kafka: { brokers, topic_prefix } or nats: { servers, subject_prefix } to the plan (docs/events.md).',
            });
          }
          // Without in-process appliers every service database is carve apply's: refuse a plan
          // whose events leave one of them short before the slot moves past changes it needs.
          if (options.sink !== 'all' && routing.events?.kafka) checkAppliableFromKafka(routing);
          const signal = abortOnSignals();
          const printer = createSyncPrinter({
            json: options.json === true,
            tty: process.stdout.isTTY === true,
          });
          const hub = createCliHub();
          hub.on('sync', printer.onEvent);
          const stopMetrics = await startCliMetrics(options, routing, hub);
          const stopDashboard = await startServeFlag(options, routing, hub);
          hub.on('reverse', printer.onReverseEvent);
          const result = await startSync({
            routing,
            untilCaughtUp: options.untilCaughtUp === true,
            sinks: eventSinks(routing),
            appliers: options.sink === 'all',
            onEvent: hub.emitter('sync'),
            signal,
          })
            // Every registered reverse stream (cut-over services) runs beside the forward stream.
            .then((engine) => runBesideForward(engine, { routing, signal, onEvent: hub.emitter('reverse') }))
            .finally(async () => {
              printer.stop();
              await stopDashboard();
              await stopMetrics();
            });
          if (options.untilCaughtUp && result.reason !== 'caught-up') {
            process.stderr.write('carve: sync stopped before it caught up; run it again to continue.\n');
            return { exit: 'incomplete' };
          }
        }),
    );
}

/**
 * Output of `carve sync`: JSON lines with --json (every event but per-batch ones); on a terminal one
 * live line per target, redrawn in place; otherwise a lag line per target every 10 s, and the events
 * an operator must see (reconnects, holds, added columns, caught up).
 */
function createSyncPrinter(options: { json: boolean; tty: boolean }) {
  let drawn = 0;
  let lastPlain = 0;
  let lastReverse = 0;
  const out = (text: string) => process.stdout.write(text);
  const clear = () => {
    if (drawn > 0) out(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const say = (line: string) => {
    if (options.tty) clear();
    out(`${line}\n`);
  };
  return {
    onEvent(event: SyncEvent) {
      if (options.json) {
        if (event.type !== 'batch-applied') out(jsonLine(event));
        return;
      }
      switch (event.type) {
        case 'lag':
          if (options.tty) {
            clear();
            const lines = event.targets.map(renderLag);
            out(`${lines.join('\n')}\n`);
            drawn = lines.length;
          } else if (Date.now() - lastPlain >= 10_000) {
            lastPlain = Date.now();
            for (const target of event.targets) out(`${renderLag(target)}\n`);
          }
          return;
        case 'sync-started':
          say(
            `carve sync: slot ${event.slot}, ${event.targets.length} target database(s)` +
              (event.caughtUpTarget ? `; until caught up with ${event.caughtUpTarget}` : ''),
          );
          return;
        case 'stream-started':
          say(`streaming from ${event.resumeLsn}`);
          return;
        case 'reconnecting':
          say(
            `reconnecting in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt}): ${event.error.database ? `${event.error.database}: ` : ''}${event.error.code} ${event.error.message}`,
          );
          return;
        case 'column-added':
          say(`added column ${event.column} ${event.columnType} to ${event.table} in ${event.database}`);
          return;
        case 'partition-added':
          say(`created partition ${event.table} in ${event.database} (new on the monolith)`);
          return;
        case 'hold-reached':
        case 'hold-released':
          say(
            `${event.database}: ${event.type === 'hold-reached' ? 'holding at' : 'released from'} ${event.lsn}`,
          );
          return;
        case 'hold-failed':
          say(`${event.database}: cannot hold at ${event.lsn}: ${event.error}`);
          return;
        case 'caught-up':
          say(`caught up with ${event.lsn}`);
          return;
        case 'sequences-carried':
          if (event.final) say(`sequences: ${event.moved.length} moved forward to the monolith's values`);
          return;
        case 'sequences-failed':
          say(
            `warning: ${event.error.database ? `${event.error.database}: ` : ''}sequences not moved: ${event.error.code} ${event.error.message}`,
          );
          return;
        default:
          return;
      }
    },
    onReverseEvent(event: ReverseEvent) {
      if (options.json) {
        if (event.type !== 'reverse-applied') out(jsonLine(event));
        return;
      }
      switch (event.type) {
        case 'reverse-started':
          say(
            `reverse ${event.service}: streaming ${event.database} into the monolith from ${event.resumeLsn}`,
          );
          return;
        case 'reverse-reconnecting':
          say(
            `reverse ${event.service}: reconnecting in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt}): ${event.error.code} ${event.error.message}`,
          );
          return;
        case 'reverse-stopped':
          say(
            `reverse ${event.service}: stopped (${event.reason})${event.error ? `: ${event.error.code} ${event.error.message}` : ''}`,
          );
          return;
        case 'reverse-lag':
          if (!options.tty && Date.now() - lastReverse >= 10_000) {
            lastReverse = Date.now();
            for (const s of event.streams)
              out(
                `reverse ${s.service.padEnd(10)} applied ${s.appliedLsn.padEnd(12)} lag ${formatBytes(s.lagBytes).padStart(9)}\n`,
              );
          }
          return;
        default:
          return;
      }
    },
    stop() {
      drawn = 0;
    },
  };
}

function renderLag(t: TargetLag): string {
  const state = t.held ? `  HELD at ${t.holdLsn}` : t.holdLsn ? `  holding at ${t.holdLsn}` : '';
  return (
    `${t.database.padEnd(18)} applied ${t.appliedLsn.padEnd(12)} lag ${formatBytes(t.lagBytes).padStart(9)} ${formatLag(t.lagSeconds, t.lagExact).padStart(6)} s` +
    `  ${formatCount(t.changesPerSecond).padStart(8)} changes/s` +
    (t.commitTime ? `  last commit ${t.commitTime}` : '') +
    state
  );
}
