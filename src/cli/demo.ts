import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { startLoad, type LoadReport, type LoadStats } from '../demo/load/start-load.js';
import { OPERATION_KINDS } from '../demo/load/load-types.js';
import { parseServiceUrls, ServiceRoutedTables } from '../demo/load/routed-tables.js';
import { CarveError } from '../errors.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { seedMonolith, type SeedEvent, type SeedReport } from '../demo/seed/seed-monolith.js';
import { redactUrl } from '../pg/connect.js';
import { demoFlag, demoFlags } from './demo-flags.js';
import { createCliHub } from './event-hub.js';
import { formatBytes, formatCount, formatSeconds, jsonLine, renderTable } from './format.js';
import { runCommand } from './run-command.js';
import { abortOnSignals } from './signals.js';

/**
 * The `demo` command, created on first use. Subcommands (`seed`, `load`) hang off it, and
 * `carve demo` itself can be given an action and options (--scale, --rate …) by the end-to-end
 * demo. Its options are positional — only read before a subcommand name — so `carve demo seed
 * --scale 1` reaches `seed`; commander needs that on the program too (which has no options of
 * its own besides --help/--version, so nothing else changes).
 */
export function demoCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'demo');
  if (existing) return existing;
  program.enablePositionalOptions();
  return program
    .command('demo')
    .description('The CareSync demo monolith: generate it, put a write load on it, migrate it')
    .enablePositionalOptions();
}

/** Registers `carve demo seed` and `carve demo load`; returns the `demo` command. */
export function registerDemoCommand(program: Command): Command {
  const demo = demoCommand(program);
  registerSeed(demo);
  registerLoad(demo);
  return demo;
}

function registerSeed(demo: Command): void {
  demo
    .command('seed')
    .description(
      'Create the CareSync schema (58 tables) in an empty database and fill it with deterministic data',
    )
    .requiredOption('--source <url>', 'the (empty) monolith database')
    .requiredOption(
      '--scale <s>',
      'volume: 1 = 100K users, 1M patients, 5M consultations … (38M rows); 0.001 = seconds',
    )
    .option('--seed <n>', 'data seed: the same seed gives the same data (default 1)')
    .option('--connections <n>', 'tables generated side by side (default 2)')
    .option('--json', 'one JSON line per event, then the report')
    .action(
      (options: { source: string; scale: string; seed?: string; connections?: string; json?: boolean }) =>
        runCommand(options, async () => {
          const scale = demoFlags.scale(options.scale);
          const seed = demoFlag('seed', options.seed) ?? 1;
          const connections = demoFlag('connections', options.connections);
          const printer = seedPrinter(options.json === true);
          const hub = createCliHub<{ seed: SeedEvent }>();
          hub.on('seed', printer.onEvent);
          const report = await seedMonolith({
            url: options.source,
            scale,
            seed,
            connections,
            onEvent: hub.emitter('seed'),
            signal: abortOnSignals(),
          }).finally(() => printer.stop());
          if (options.json) process.stdout.write(jsonLine({ type: 'report', report }));
          else process.stdout.write(renderSeedSummary(report, options.source));
        }),
    );
}

function seedPrinter(json: boolean): { onEvent: (e: SeedEvent) => void; stop: () => void } {
  if (json) return { onEvent: (e) => void process.stdout.write(jsonLine(e)), stop() {} };
  const err = process.stderr;
  if (!err.isTTY) {
    return {
      onEvent: (e) => {
        if (e.type === 'table-done')
          err.write(`  ${e.table}: ${formatCount(e.rows)} rows in ${formatSeconds(e.seconds)}\n`);
        else if (e.type === 'phase') err.write(`${e.phase}…\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: err,
      hideCursor: true,
      format: '{phase} |{bar}| {percentage}% {value}/{total} rows {table} ETA {eta_formatted}',
      barsize: 30,
      etaBuffer: 40,
    },
    cliProgress.Presets.shades_grey,
  );
  let started = false;
  return {
    onEvent: (e) => {
      if (e.type === 'progress') {
        if (!started) bar.start(e.overallTotal, 0, { phase: 'load', table: '' });
        started = true;
        bar.update(e.overallDone, { table: e.table });
      } else if (e.type === 'phase' && started) {
        bar.update({ phase: e.phase, table: '' });
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function renderSeedSummary(report: SeedReport, url: string): string {
  const rows = [...report.tables]
    .sort((a, b) => b.rows - a.rows)
    .map((t) => [t.table, formatCount(t.rows), t.seconds.toFixed(2), formatCount(t.rowsPerSecond)]);
  const phases = Object.entries(report.phases)
    .map(([p, s]) => `${p} ${formatSeconds(s ?? 0)}`)
    .join(', ');
  return [
    renderTable(['table', 'rows', 'seconds', 'rows/s'], rows, ['rows', 'seconds', 'rows/s']),
    '',
    `seeded ${redactUrl(url)} at scale ${report.scale} (seed ${report.seed}): ${formatCount(report.totalRows)} rows in ` +
      `${formatSeconds(report.seconds)} (${formatCount(report.rowsPerSecond)} rows/s), database ${formatBytes(report.databaseBytes)}`,
    `phases: ${phases}`,
    '',
  ].join('\n');
}

function registerLoad(demo: Command): void {
  demo
    .command('load')
    .description('Run a realistic OLTP write mix on the CareSync monolith at a target rate (Ctrl-C stops it)')
    .requiredOption('--source <url>', 'the seeded monolith')
    .option('--rate <n>', 'target write transactions per second, up to 100000 (default 100)', '100')
    .option(
      '--duration <d>',
      'how long, e.g. 30s, 5m, 1h, up to 168h (default: until Ctrl-C or --max); waiting transactions are dropped then',
    )
    .option('--max <n>', 'stop after this many transactions')
    .option('--connections <n>', 'concurrent connections (default 4)')
    .option('--seed <n>', 'operation seed (default 1)')
    .option(
      '--routed-plan <file>',
      "service-routed mode: the plan whose moved services' tables are written in their own databases",
    )
    .option(
      '--service-url <service=url...>',
      "with --routed-plan: a moved service, and the URL its tables are written at (bare name: carve's URL from the plan)",
    )
    .option(
      '--secrets-dir <dir>',
      "with a bare --service-url name: where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .option('--json', 'one JSON line of statistics per second, then the report')
    .action(
      (options: {
        source: string;
        rate: string;
        duration?: string;
        max?: string;
        connections?: string;
        seed?: string;
        routedPlan?: string;
        serviceUrl?: string[];
        secretsDir?: string;
        json?: boolean;
      }) =>
        runCommand(options, async () => {
          const router = await routedTables(options);
          const rate = demoFlags.rate(options.rate);
          const durationMs = demoFlag('duration', options.duration);
          const maxTransactions = demoFlag('max', options.max);
          const connections = demoFlag('connections', options.connections);
          const seed = demoFlag('seed', options.seed);
          const handle = startLoad({
            url: options.source,
            rate,
            // Without a bound, run until interrupted.
            durationMs: durationMs ?? (maxTransactions === undefined ? Number.MAX_SAFE_INTEGER : undefined),
            maxTransactions,
            connections,
            seed,
            ...(router ? { router: router.router } : {}),
          });
          const signal = abortOnSignals();
          signal.addEventListener('abort', () => void handle.stop(), { once: true });
          const json = options.json === true;
          const tty = !json && process.stderr.isTTY;
          const ticker = setInterval(() => {
            const s = handle.stats();
            if (json) process.stdout.write(jsonLine({ type: 'stats', ...s }));
            else if (tty) process.stderr.write(`\r${statsLine(s)}\x1b[K`);
          }, 1000);
          const report = await handle.done.finally(() => clearInterval(ticker));
          if (tty) process.stderr.write('\n');
          if (json) process.stdout.write(jsonLine({ type: 'report', ...report }));
          else process.stdout.write(renderLoadSummary(report));
        }),
    );
}

/** --routed-plan and --service-url: the router of the service-routed mode (undefined without them). */
async function routedTables(options: {
  routedPlan?: string;
  serviceUrl?: string[];
  secretsDir?: string;
}): Promise<ServiceRoutedTables | undefined> {
  if (!options.routedPlan) {
    if (options.serviceUrl?.length)
      throw new CarveError('USAGE', '--service-url needs --routed-plan', {
        hint: 'Add --routed-plan <plan file>, which says which tables each service owns and their names there.',
      });
    return undefined;
  }
  const { services, invalid } = parseServiceUrls(options.serviceUrl ?? []);
  if (invalid.length)
    throw new CarveError(
      'USAGE',
      `--service-url must be service=URL or a service name: ${invalid.join(', ')}`,
      {
        hint: 'e.g. --service-url patient=postgres://patient_app@services:5432/patient_db',
      },
    );
  const { routing } = await prepareRouting(options.routedPlan, {
    logins: { secretsDir: options.secretsDir },
  });
  const unknown = [...services.keys()].filter((name) => !routing.services.some((s) => s.name === name));
  if (unknown.length)
    throw new CarveError(
      'USAGE',
      `--service-url names services the plan does not have: ${unknown.join(', ')}`,
      {
        hint: `The plan's services are ${routing.services.map((s) => s.name).join(', ')}.`,
      },
    );
  const tables = new ServiceRoutedTables(routing);
  for (const [name, url] of services)
    tables.move(name, url ?? routing.services.find((s) => s.name === name)!.url);
  return tables;
}

function statsLine(s: LoadStats): string {
  return (
    `${formatSeconds(s.elapsedSeconds)}  ${formatCount(s.committed)} committed  ${s.achievedRate.toFixed(1)}/s ` +
    `(target ${s.targetRate})  p50 ${s.latencyMs.p50.toFixed(1)} ms  p99 ${s.latencyMs.p99.toFixed(1)} ms  ` +
    `failed ${s.failed}${s.queued > 0 ? `  queued ${s.queued}` : ''}`
  );
}

/** The per-kind table, totals, rate, latency and errors of a finished load run. */
export function renderLoadSummary(report: LoadReport): string {
  const rows = OPERATION_KINDS.map((k) => {
    const s = report.byKind[k];
    return [k, s.transactions, s.failed, s.inserted, s.updated, s.deleted].map(String);
  });
  const r = report.rows;
  rows.push([
    'total',
    String(report.committed),
    String(report.failed),
    String(r.inserted),
    String(r.updated),
    String(r.deleted),
  ]);
  const errors = Object.entries(report.errors)
    .map(([state, n]) => `${state} ×${n}`)
    .join(', ');
  return [
    renderTable(['operation', 'committed', 'failed', 'inserted', 'updated', 'deleted'], rows, [
      'committed',
      'failed',
      'inserted',
      'updated',
      'deleted',
    ]),
    '',
    `${report.reason}: ${formatCount(report.committed)} transactions in ${formatSeconds(report.elapsedSeconds)}, ` +
      `${report.achievedRate.toFixed(1)}/s (target ${report.targetRate}/s)` +
      (report.dropped > 0 ? `, ${formatCount(report.dropped)} not run` : ''),
    `latency (from scheduled start): p50 ${report.latencyMs.p50.toFixed(1)} ms, p99 ${report.latencyMs.p99.toFixed(1)} ms, ` +
      `max ${report.latencyMs.max.toFixed(1)} ms`,
    `errors: ${errors || 'none'}`,
    ...(report.databases
      ? [
          `transactions per database: ${Object.entries(report.databases)
            .map(([database, n]) => `${database} ${formatCount(n)}`)
            .join(', ')}`,
        ]
      : []),
    '',
  ].join('\n');
}
