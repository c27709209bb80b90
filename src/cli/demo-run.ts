import type { Command } from 'commander';
import { DEFAULT_DEMO_RATE, DEFAULT_DEMO_SCALE, runDemo, type DemoEvent } from '../demo/run-demo.js';
import type { LoadReport } from '../demo/load/load-types.js';
import { buildIndexesWithProvision } from './copy.js';
import { demoFlag } from './demo-flags.js';
import { createCliHub } from './event-hub.js';
import { formatCount, formatSeconds, jsonLine, renderTable } from './format.js';
import { createMigratePrinter } from './migrate.js';
import { runCommand } from './run-command.js';
import { renderMigrateReport } from './migrate-report.js';
import { FROZEN_SQLSTATE } from '../cutover/index.js';
import type { DemoCutoverEvent, DemoCutoverReport } from '../demo/demo-cutover.js';
import type { MigrateReport } from '../migrate/events.js';
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
    .option('--no-cutover', 'stop after migrate: no cutover, rollback or complete')
    .option('--rollback-service <name>', 'the service rolled back and cut over again (default patient)')
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
        cutover?: boolean;
        rollbackService?: string;
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
              case 'cutover-phase':
                printCutoverPhase(event.event, out);
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
            noCutover: options.cutover === false,
            rollbackService: options.rollbackService,
            buildIndexes: buildIndexesWithProvision,
            onEvent: hub.emitter('demo'),
            signal: abortOnSignals(),
          }).finally(() => migratePrinter.stop());
          if (json)
            out(
              jsonLine({
                type: 'demo-finished',
                ok: result.ok,
                report: result.report,
                load: result.load,
                cutover: result.cutover,
                seed: result.seed,
                kept: result.kept ?? null,
              }),
            );
          if (result.cutover && !json) out(`\n${renderCutoverReport(result.cutover, result.report.seconds)}`);
          // Every line above can read well while the run failed: say so, and why, last.
          const failures = result.cutover && !result.ok ? demoCutoverFailures(result.cutover) : [];
          if (failures.length && !json) out(`FAILED: ${failures.join('; ')}\n`);
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
                ...(result.cutover
                  ? [
                      // Every service is completed: the application writes the service databases only.
                      `  npx carve demo load --source $MONOLITH_URL --routed-plan plans/caresync.yaml --secrets-dir ${k.secretsDir} --service-url auth,patient,clinical,pharmacy,laboratory,appointment,billing,analytics --rate 50 --duration 30s`,
                    ]
                  : [
                      '  npx carve demo load --source $MONOLITH_URL --rate 100 --duration 30s &',
                      '  npx carve sync --plan plans/caresync.yaml --until-caught-up',
                      '  npx carve verify --plan plans/caresync.yaml',
                      '  npx carve cutover --plan plans/caresync.yaml --service auth',
                    ]),
                `Remove them with: rm -rf ${k.monolithDir} ${k.targetDir} (after stopping the servers: pg_ctl -D <dir>/data stop)`,
                '',
              ].join('\n'),
            );
          }
          if (!result.report.ok) return { exit: result.report.verify ? 'mismatch' : 'incomplete' };
          if (result.ok) return { exit: 'ok' };
          if (result.cutover?.verify.ok === false) return { exit: 'mismatch' };
          // A write that failed for another reason than the freeze is an error, not work to resume.
          return { exit: failures.length ? 'failed' : 'incomplete' };
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

/** One line per cutover-phase moment an operator watches; the rest only in --json. */
function printCutoverPhase(event: DemoCutoverEvent, out: (text: string) => void): void {
  switch (event.type) {
    case 'streams-started':
      out('\n▶ cutover: forward and reverse streams running in this process\n');
      break;
    case 'routed-load-started':
      out(
        `  write load (service-routed): ${event.rate} transactions/s, each write to the database that owns its table now\n`,
      );
      break;
    case 'routed':
      out(
        `  load: ${event.service} tables now written in ${event.to === 'service' ? 'its database' : 'the monolith'}\n`,
      );
      break;
    case 'cutover':
      if (event.event.type === 'undone') out(`  ${event.service}: cutover undone (${event.event.reason})\n`);
      break;
    case 'step-done': {
      const s = event.step;
      const errors = Object.entries(s.loadErrors)
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ');
      out(
        `✓ ${s.step} ${s.service} (${formatSeconds(s.seconds)}; writes unavailable ${s.unavailableSeconds === null ? '?' : formatSeconds(s.unavailableSeconds)}${errors ? `; load failures ${errors}` : ''})\n`,
      );
      break;
    }
    case 'routed-load-stopped':
      out(
        `  write load stopped: ${formatCount(event.report.committed)} committed, ${formatCount(event.report.failed)} failed\n`,
      );
      break;
    case 'verify':
      if (event.event.type === 'route-done' && event.event.result.status !== 'ok')
        out(
          `  DIFFERS ${event.event.result.routeId}: ${event.event.result.missing} missing, ${event.event.result.extra} extra, ${event.event.result.different} different\n`,
        );
      break;
    case 'completed':
      out(`✓ complete ${event.service}\n`);
      break;
    default:
      break;
  }
}

/**
 * Why a finished cutover phase fails the demo, in words: differences after the streams caught up,
 * load writes refused for another reason than the freeze (by SQLSTATE and the step they fell in).
 */
export function demoCutoverFailures(c: DemoCutoverReport): string[] {
  const failures: string[] = [];
  if (!c.verify.ok) failures.push('verify found differences between the monolith and the services');
  if (c.failedOther > 0) {
    const where = c.steps
      .map((s) => {
        const other = Object.entries(s.loadErrors).filter(([code]) => code !== FROZEN_SQLSTATE);
        return other.length
          ? `${other.map(([code, n]) => `${code} ×${n}`).join(', ')} during ${s.step} ${s.service}`
          : '';
      })
      .filter(Boolean);
    failures.push(
      `${formatCount(c.failedOther)} write${c.failedOther === 1 ? '' : 's'} of the load failed with an error other than ${FROZEN_SQLSTATE}` +
        (where.length ? ` (${where.join('; ')})` : ''),
    );
  }
  return failures;
}

/** The CareSync plan's success criteria after the whole lifecycle. */
function renderCutoverReport(c: DemoCutoverReport, migrateSeconds: number): string {
  const cutovers = c.steps.filter((s) => s.step === 'cutover' || s.step === 'cutover-again');
  const windows = cutovers.map((s) => s.unavailableSeconds ?? 0);
  const rolled = c.steps.find((s) => s.step === 'rollback');
  const verifyReport: MigrateReport = { ...EMPTY_REPORT, verify: c.verify, ok: c.verify.ok };
  const table = renderTable(
    ['service', 'cutover', 'writes unavailable', 'load failures meanwhile'],
    c.steps
      .filter((s) => s.step !== 'complete')
      .map((s) => [
        s.step === 'cutover' ? s.service : `${s.service} (${s.step})`,
        formatSeconds(s.seconds),
        s.unavailableSeconds === null ? '?' : formatSeconds(s.unavailableSeconds),
        Object.entries(s.loadErrors)
          .map(([k, n]) => `${k} ×${n}`)
          .join(', ') || 'none',
      ]),
  );
  const verifyTable = renderMigrateReport(verifyReport).split('\n\n')[0]!;
  const lines: [string, string][] = [
    [
      'data accuracy',
      c.verify.tables.every((t) => t.status === 'ok')
        ? '100% record count match, every table (monolith vs services, after cutover and rollback)'
        : 'DIFFERENCES FOUND',
    ],
    [
      'referential integrity',
      `${c.verify.foreignKeys.reduce((n, fk) => n + (fk.status === 'orphans' ? fk.orphans.filter((o) => !o.preexisting).length + fk.truncated : 0), 0)} orphaned records`,
    ],
    [
      'availability',
      `writes unavailable per service ${formatSeconds(Math.min(...windows))}–${formatSeconds(Math.max(...windows))} (only that service's tables; reads never)`,
    ],
    [
      'rollback time',
      rolled
        ? `${formatSeconds(rolled.seconds)} for ${rolled.service} (writes unavailable ${rolled.unavailableSeconds === null ? '?' : formatSeconds(rolled.unavailableSeconds)}; plan allows 4 h)`
        : '-',
    ],
    [
      'acknowledged writes',
      `${formatCount(c.load.committed)} committed in the cutover phase, none lost (verify above); ${formatCount(c.failedFrozen)} refused fast with ${FROZEN_SQLSTATE} inside windows, ${formatCount(c.failedOther)} other errors`,
    ],
    ['foreign-key retries', foreignKeyWaits(c.load)],
    ['completed', `${c.completed.length} services: ${c.completed.join(', ')}`],
    ['migration + cutover', `${formatSeconds(migrateSeconds)} + ${formatSeconds(c.seconds)}`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return [
    'Cutover, per service (load running, service-routed):',
    table,
    '',
    'After the load stopped and both streams caught up (before complete):',
    verifyTable,
    '',
    'CareSync plan success criteria:',
    ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
  ].join('\n');
}

const EMPTY_REPORT: MigrateReport = {
  migration: '',
  ok: false,
  resumedFrom: null,
  steps: [],
  copy: null,
  sync: null,
  verify: null,
  seconds: 0,
  peakRssBytes: 0,
};

/**
 * The load's writes that a monolith foreign key rejected (23503) and that ran again: after the
 * reverse streams passed the moment of the rejection (the parent, just written in a service
 * database, was on its way), or after the child's table moved too (the parent was the operation's
 * own write in a service database).
 */
export function foreignKeyWaits(load: DemoCutoverReport['load']): string {
  const runs = load.retries?.['23503'] ?? 0;
  const what = '23503: a monolith foreign key to a row written in a service database';
  const reverse = load.reverseWaits;
  const route = load.routeWaits;
  if (!reverse || !route) return `${formatCount(runs)} writes ran again (${what})`;
  const longest = (w: { count: number; maxMs: number }) =>
    w.count === 0 ? '' : ` (longest ${formatSeconds(w.maxMs / 1000)})`;
  const late = reverse.timedOut + route.timedOut;
  return (
    `${formatCount(reverse.count)} waits for the reverse stream${longest(reverse)}, ` +
    `${formatCount(route.count)} for the child's service to move${longest(route)}, then ran again (${what})` +
    (late === 0 ? '' : `; ${formatCount(late)} out of time (failed)`)
  );
}
