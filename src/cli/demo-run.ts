import type { Command } from 'commander';
import { DEFAULT_DEMO_RATE, DEFAULT_DEMO_SCALE, runDemo, type DemoEvent } from '../demo/run-demo.js';
import type { LoadReport } from '../demo/load/load-types.js';
import { buildIndexesWithProvision } from './copy.js';
import { demoFlag } from './demo-flags.js';
import { createCliHub } from './event-hub.js';
import { formatCount, formatSeconds, jsonLine } from './format.js';
import { createMigratePrinter } from './migrate.js';
import { runCommand } from './run-command.js';
import { abortOnSignals } from './signals.js';

/** `carve demo` with no subcommand: the whole CareSync migration on throwaway clusters. */
export function attachDemoRunAction(demo: Command): void {
  demo
    .option('--scale <s>', `CareSync scale (1 = 10M+ rows; default ${DEFAULT_DEMO_SCALE})`)
    .option(
      '--rate <n>',
      `write transactions/s on the monolith during the migration (default ${DEFAULT_DEMO_RATE})`,
    )
    .option('--seed <n>', 'data seed (default 1)')
    .option('--jobs <n>', 'parallel workers (default: cores, at least 2)')
    .option('--keep', 'leave both clusters running and print how to reach them')
    .option('--json', 'one JSON line per event, then the report')
    .action(
      (options: {
        scale?: string;
        rate?: string;
        seed?: string;
        jobs?: string;
        keep?: boolean;
        json?: boolean;
      }) =>
        runCommand(options, async () => {
          const scale = demoFlag('scale', options.scale);
          const rate = demoFlag('rate', options.rate);
          const seed = demoFlag('seed', options.seed);
          const jobs = demoFlag('jobs', options.jobs);
          const json = options.json === true;
          let load: LoadReport | null = null;
          const migratePrinter = createMigratePrinter(json, () => (load ? loadLines(load) : []));
          const out = (text: string) => process.stdout.write(text);
          const onEvent = (event: DemoEvent) => {
            if (event.type === 'load-stopped') load = event.report;
            if (json) {
              if (event.type === 'migrate') migratePrinter.onEvent(event.event);
              else if (event.type !== 'seed' || event.event.type !== 'progress') out(jsonLine(event));
              return;
            }
            switch (event.type) {
              case 'clusters-started':
                out(
                  `carve demo: throwaway monolith and service clusters (${event.binaries}, fsync off)\n  monolith ${event.monolithUrl}\n  services ${event.targetUrl}\n`,
                );
                break;
              case 'seeded':
                out(
                  `seeded CareSync at scale ${scale ?? DEFAULT_DEMO_SCALE}: ${formatCount(event.report.totalRows)} rows in ${formatSeconds(event.report.seconds)}\n`,
                );
                break;
              case 'load-started':
                out(`write load on the monolith: ${event.rate} transactions/s, for the whole migration\n`);
                break;
              case 'load-stopped':
                out(
                  `write load stopped: ${formatCount(event.report.committed)} transactions committed during the migration\n`,
                );
                break;
              case 'migrate':
                migratePrinter.onEvent(event.event);
                break;
              case 'cleaned-up':
                out('removed both clusters\n');
                break;
              default:
                break;
            }
          };
          const hub = createCliHub<{ demo: DemoEvent }>();
          hub.on('demo', onEvent);
          const result = await runDemo({
            scale,
            loadRate: rate,
            seed,
            jobs,
            keep: options.keep === true,
            buildIndexes: buildIndexesWithProvision,
            onEvent: hub.emitter('demo'),
            signal: abortOnSignals(),
          }).finally(() => migratePrinter.stop());
          if (json)
            out(
              jsonLine({
                type: 'demo-finished',
                ok: result.report.ok,
                report: result.report,
                load: result.load,
                seed: result.seed,
                kept: result.kept ?? null,
              }),
            );
          if (result.kept && !json) {
            const k = result.kept;
            out(
              [
                '',
                'The clusters are still running (--keep):',
                `  monolith   ${k.monolithUrl}`,
                `  services   ${k.targetUrl.replace(/\/postgres$/, '/<service>_db')}`,
                `  passwords  ${k.secretsDir}`,
                'Next, try:',
                `  export MONOLITH_URL=${k.monolithUrl} TARGET_URL=${k.targetUrl}`,
                '  npx carve status --plan plans/caresync.yaml',
                '  npx carve demo load --source $MONOLITH_URL --rate 100 --duration 30s &',
                '  npx carve sync --plan plans/caresync.yaml --until-caught-up',
                '  npx carve verify --plan plans/caresync.yaml',
                `Remove them with: rm -rf ${k.monolithDir} ${k.targetDir} (after stopping the servers: pg_ctl -D <dir>/data stop)`,
                '',
              ].join('\n'),
            );
          }
          return { exit: result.report.ok ? 'ok' : result.report.verify ? 'mismatch' : 'incomplete' };
        }),
    );
}

function loadLines(load: LoadReport): [string, string][] {
  return [
    [
      'writes during migration',
      `${formatCount(load.committed)} transactions (${formatCount(load.rows.inserted)} inserted, ${formatCount(load.rows.updated)} updated, ${formatCount(load.rows.deleted)} deleted rows), ${load.achievedRate.toFixed(1)} tx/s, p50 ${load.latencyMs.p50.toFixed(1)} ms, p99 ${load.latencyMs.p99.toFixed(1)} ms`,
    ],
  ];
}
