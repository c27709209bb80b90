/**
 * Cutover and rollback under load: the write-unavailability window and the duration of each
 * service's cutover, and of a rollback (the CareSync plan allows 4 hours; the aim is seconds).
 *
 *   npm run build && npm run bench:cutover -- --scale 0.2 --rate 100
 *
 * Setup (untimed): two throwaway clusters (fsync off), CareSync seeded at --scale, provisioned and
 * copied by carve's library, `carve sync --until-caught-up`, then a long-running `carve sync`
 * (forward and, once services are cut over, reverse streams) and the demo load at --rate
 * transactions/s in service-routed mode (each write goes to the database that owns its table).
 *
 * Measured, per service in the plan's order (shared reference data last, it takes no writes):
 *   `carve cutover --plan … --service S --json` under /usr/bin/time: wall seconds, peak RSS, and
 *   the write-unavailability window the command reports (freeze start → switch done); the load is
 *   re-routed as soon as the command exits, and its failures during the cutover are counted by
 *   SQLSTATE (writes to frozen tables fail fast with the freeze's SQLSTATE by design).
 * Then `carve rollback` of --rollback-service (default patient), the load routed back, and a
 * cutover of it again; finally `carve verify` with the load stopped and streams caught up.
 *
 * Needs `carve cutover` and `carve rollback` (the cutover engine): without them it stops before
 * starting any cluster. Writes bench/out/cutover/results.json and prints a Markdown table for
 * bench/RESULTS.md (not written by this script).
 *
 * Flags: --scale (0.2) --rate (100) --seed (1) --rollback-service (patient) --max-lag (5s)
 *   --timeout (30s) --keep (leave the clusters running)
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIndexesWithProvision } from '../src/cli/copy.js';
import { startCluster, type LocalCluster } from '../src/cluster/local-cluster.js';
import { copy } from '../src/copy/index.js';
import { ServiceRoutedTables } from '../src/demo/load/routed-tables.js';
import { startLoad, type LoadHandle, type LoadStats } from '../src/demo/load/start-load.js';
import { seedMonolith } from '../src/demo/seed/seed-monolith.js';
import { withClient, withDatabase } from '../src/pg/connect.js';
import { quoteIdent } from '../src/pg/quote.js';
import { provision } from '../src/provision/index.js';
import { prepareRouting } from '../src/routing/prepare-routing.js';
import { runTimed } from './lib/timed-process.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
const outDir = join(here, 'out', 'cutover');
const carveBin = join(repoRoot, 'bin', 'carve.js');
const planFile = join(repoRoot, 'plans', 'caresync.yaml');
const SETTINGS = { shared_buffers: '256MB', synchronous_commit: 'on', wal_level: 'logical' };

const { values: flags } = parseArgs({
  args: process.argv.slice(1),
  options: {
    scale: { type: 'string', default: '0.2' },
    rate: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'rollback-service': { type: 'string', default: 'patient' },
    'max-lag': { type: 'string', default: '5s' },
    timeout: { type: 'string', default: '30s' },
    keep: { type: 'boolean', default: false },
  },
});
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface StepResult {
  step: 'cutover' | 'rollback' | 'cutover-again';
  service: string;
  seconds: number;
  maxRssKb: number;
  exitCode: number;
  /** The window the command reports (freeze start → switch done), in seconds; null if not found. */
  unavailableSeconds: number | null;
  /** Load transactions that failed while the command ran, by SQLSTATE. */
  loadErrors: Record<string, number>;
  /** The command's last JSON line (its result), for the record. */
  result: unknown;
}

async function main(): Promise<void> {
  for (const command of ['cutover', 'rollback']) {
    const help = spawnSync(process.execPath, [carveBin, command, '--help'], { encoding: 'utf8' });
    if (help.status !== 0) {
      console.error(`carve ${command} is not built in this checkout (the cutover engine): nothing measured.`);
      process.exit(2);
    }
  }
  mkdirSync(outDir, { recursive: true });
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
  const owned: LocalCluster[] = [];
  let sync: ChildProcess | undefined;
  let load: LoadHandle | undefined;
  try {
    const [mono, target] = await Promise.all([
      startCluster({ name: 'bench-cutover-src', fsync: false, settings: SETTINGS, keep: flags.keep }),
      startCluster({ name: 'bench-cutover-dst', fsync: false, settings: SETTINGS, keep: flags.keep }),
    ]);
    if (!flags.keep) owned.push(mono, target);
    const monolith = await createDb(mono.url(), 'caresync');
    const env = {
      MONOLITH_URL: monolith,
      TARGET_URL: target.url(),
      CARVE_SECRETS_DIR: join(outDir, 'secrets'),
    };
    Object.assign(process.env, env);
    log(`seeding CareSync at scale ${flags.scale}`);
    await seedMonolith({ url: monolith, scale: Number(flags.scale), seed: Number(flags.seed) });
    const { catalog, routing: planned } = await prepareRouting(planFile);
    await provision(catalog, planned, { secretsDir: join(outDir, 'secrets', planned.names.migration) });
    const { routing } = await prepareRouting(planFile, { logins: {} });
    const copied = await copy({ routing, jobs: 2, buildIndexes: buildIndexesWithProvision });
    if (!copied.complete) throw new Error(`copy incomplete: ${JSON.stringify(copied.failed)}`);
    await carve(['sync', '--plan', planFile, '--until-caught-up']);
    sync = spawn(process.execPath, [carveBin, 'sync', '--plan', planFile, '--json'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });

    const tables = new ServiceRoutedTables(routing);
    load = startLoad({
      url: monolith,
      rate: Number(flags.rate),
      durationMs: 24 * 3_600_000,
      seed: Number(flags.seed),
      router: tables.router,
    });
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the load at its rate first
    log(`load running at ${load.stats().achievedRate.toFixed(0)} tx/s`);

    const steps: StepResult[] = [];
    const order = [
      ...routing.services.filter((s) => !s.readonly),
      ...routing.services.filter((s) => s.readonly),
    ];
    for (const service of order) {
      steps.push(await measure('cutover', service.name, load));
      tables.move(service.name, service.url);
    }
    const again = flags['rollback-service']!;
    steps.push(await measure('rollback', again, load));
    tables.restore(again);
    steps.push(await measure('cutover-again', again, load));
    tables.move(again, routing.services.find((s) => s.name === again)!.url);

    const report = await load.stop();
    load = undefined;
    sync.kill('SIGINT');
    await new Promise((resolve) => sync!.once('exit', resolve));
    sync = undefined;
    await carve(['sync', '--plan', planFile, '--until-caught-up']);
    const verify = spawnSync(process.execPath, [carveBin, 'verify', '--plan', planFile, '--json'], {
      encoding: 'utf8',
    });

    const results = {
      commit,
      scale: Number(flags.scale),
      rate: Number(flags.rate),
      steps,
      load: {
        committed: report.committed,
        failed: report.failed,
        errors: report.errors,
        databases: report.databases,
      },
      verifyExitCode: verify.status,
    };
    writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(renderTable(steps));
    log(`load: ${report.committed} committed, ${report.failed} failed ${JSON.stringify(report.errors)}`);
    log(`verify exit code ${verify.status}`);
  } finally {
    if (load) await load.stop().catch(() => {});
    sync?.kill('SIGKILL');
    for (const cluster of owned) await cluster.destroy().catch(() => {});
  }
}

/** One carve command under /usr/bin/time while the load runs; the load's failures meanwhile. */
async function measure(step: StepResult['step'], service: string, load: LoadHandle): Promise<StepResult> {
  const before = load.stats();
  let last: unknown = null;
  const run = await runTimed(
    process.execPath,
    [
      carveBin,
      step === 'rollback' ? 'rollback' : 'cutover',
      '--plan',
      planFile,
      '--service',
      service,
      '--timeout',
      flags.timeout!,
      ...(step === 'rollback' ? [] : ['--max-lag', flags['max-lag']!]),
      '--json',
    ],
    {
      check: false,
      stderrFile: join(outDir, `${step}-${service}.stderr`),
      onStdoutLine: (line) => {
        if (line.startsWith('{')) last = JSON.parse(line);
      },
    },
  );
  const result: StepResult = {
    step,
    service,
    seconds: run.seconds,
    maxRssKb: run.maxRssKb,
    exitCode: run.exitCode,
    unavailableSeconds: windowSeconds(last),
    loadErrors: errorsSince(before, load.stats()),
    result: last,
  };
  log(
    `${step} ${service}: ${run.seconds.toFixed(1)} s, window ${result.unavailableSeconds?.toFixed(3) ?? '?'} s, exit ${run.exitCode}`,
  );
  return result;
}

/**
 * The unavailability window from a command's result, whatever its exact field name (the cutover
 * engine names it; this script only needs a number of seconds or milliseconds).
 */
function windowSeconds(result: unknown): number | null {
  let found: number | null = null;
  const visit = (value: unknown, key: string) => {
    if (found !== null) return;
    if (typeof value === 'number' && /unavailab|window|freeze/i.test(key))
      found = /ms$|Ms$|millis/i.test(key) ? value / 1000 : value;
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(v, k);
  };
  visit(result, '');
  return found;
}

function errorsSince(before: LoadStats, after: LoadStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [state, n] of Object.entries(after.errors)) {
    const delta = n - (before.errors[state] ?? 0);
    if (delta > 0) out[state] = delta;
  }
  return out;
}

function renderTable(steps: StepResult[]): string {
  const lines = [
    '| step | service | duration | write-unavailability window | load failures meanwhile | peak RSS |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of steps)
    lines.push(
      `| ${s.step} | ${s.service} | ${s.seconds.toFixed(1)} s | ${s.unavailableSeconds === null ? '?' : `${s.unavailableSeconds.toFixed(3)} s`} | ${
        Object.entries(s.loadErrors)
          .map(([k, n]) => `${k} ×${n}`)
          .join(', ') || 'none'
      } | ${(s.maxRssKb / 1024).toFixed(0)} MiB |`,
    );
  return lines.join('\n');
}

async function carve(args: string[]): Promise<void> {
  const run = spawnSync(process.execPath, [carveBin, ...args], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`carve ${args.join(' ')} exited ${run.status}`);
}

async function createDb(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, (x) => x.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return withDatabase(serverUrl, name);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
