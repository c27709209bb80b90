/**
 * carve copy against its peers, on one seeded CareSync monolith, in one invocation.
 *
 *   npm run bench:copy -- --scale 0.2 --rounds 3
 *
 * Two throwaway clusters on this machine, same settings (fsync off): the monolith, seeded once,
 * and the target. Each round runs every tool in turn (carve, pgcopydb, pg_dump/pg_restore, raw),
 * each into freshly emptied targets, each ending with the same tables, rows, primary keys,
 * secondary indexes, constraints and planner statistics:
 *   carve     `carve provision` (schema without secondary indexes) + `carve copy --jobs 2`
 *             (load, then secondary indexes, intra-database FKs, sequences, ANALYZE) into nine
 *             databases; both processes under /usr/bin/time -v.
 *   pgcopydb  `pgcopydb clone --table-jobs 2 --index-jobs 2` into one database (its own VACUUM
 *             ANALYZE included); the excluded table left out with a filter file.
 *   dump      `pg_dump -Fd -j2` + `pg_restore -j2` + `vacuumdb --analyze-only -j2`.
 *   raw       schema-only dump, pre-data restore, per table `psql COPY TO STDOUT (FORMAT binary)
 *             | psql COPY FROM STDIN (FORMAT binary)` 2 at a time, post-data restore -j2, analyze.
 * After each run (untimed) row counts are checked against the monolith and objects are counted.
 *
 * Flags: --scale (0.2) --rounds (3) --seed (1) --jobs (2) --tools carve,pgcopydb,dump,raw
 *   --max-load 1.5 --load-wait 600 (seconds to wait per run for the 1-min load to drop below it)
 *   --monolith-url URL (reuse a seeded monolith on another cluster; skips seeding)
 *   --keep-monolith (leave the seeded monolith cluster running and print its URL)
 *   --cpu-prof (carve copy under node --cpu-prof, profiles in bench/out/copy/prof)
 *   --sample-activity (pg_stat_activity on both servers every 0.5 s during each run, summarized)
 *   --baseline-bin PATH (adds tool "baseline": the same carve flow run by another build's bin/carve.js,
 *     e.g. a copy of dist/ from before a change; list it in --tools to place it in the rotation)
 *   --log-statements (target server logs every statement with its duration; log copied to the run dir)
 *   --no-build  --no-results (do not rewrite the "## Copy" section of bench/RESULTS.md)
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type LocalCluster } from '../src/cluster/local-cluster.js';
import { seedMonolith } from '../src/demo/seed/seed-monolith.js';
import { withClient, withDatabase } from '../src/pg/connect.js';
import { quoteIdent, quoteQualified } from '../src/pg/quote.js';
import { prepareRouting } from '../src/routing/prepare-routing.js';
import type { Routing } from '../src/routing/model.js';
import { dumpRestore, peerWorkDir, pgcopydbClone, rawPipeCopy, type PeerRun } from './lib/bulk-copy-peers.js';
import { sampleActivity, summarizeActivity } from './lib/activity-sampler.js';
import { loadAverage1m, waitForLoadBelow } from './lib/load-average.js';
import {
  addCounts,
  checkpoint,
  createDatabase,
  emptyCluster,
  leafTables,
  objectCounts,
  query,
  showSettings,
  type LeafTable,
  type ObjectCounts,
} from './lib/pg-admin.js';
import { replaceResultsSection } from './lib/results-file.js';
import { postmasterPid, serverCpuSeconds } from './lib/server-cpu.js';
import { runTimed } from './lib/timed-process.js';
import { renderCopyResults, type BenchRun, type BenchSetup, type Tool } from './lib/copy-report.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
// One directory per invocation (logs, event streams, profiles); bench/out is git-ignored.
const outDir = join(here, 'out', 'copy', new Date().toISOString().replace(/[:.]/g, '-'));
const PLAN = 'plans/caresync.yaml';
const SETTINGS = {
  shared_buffers: '256MB',
  synchronous_commit: 'on',
  max_wal_size: '4GB',
  wal_level: 'logical',
};
const REPORTED_SETTINGS = [
  'shared_buffers',
  'fsync',
  'full_page_writes',
  'synchronous_commit',
  'max_wal_size',
  'wal_level',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'checkpoint_timeout',
  'server_version',
];

const { values: flags } = parseArgs({
  args: process.argv.slice(1),
  options: {
    scale: { type: 'string', default: '0.2' },
    rounds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '2' },
    tools: { type: 'string', default: 'carve,pgcopydb,dump,raw' },
    'max-load': { type: 'string', default: '1.5' },
    'load-wait': { type: 'string', default: '600' },
    'monolith-url': { type: 'string' },
    'keep-monolith': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'sample-activity': { type: 'boolean', default: false },
    'log-statements': { type: 'boolean', default: false },
    'baseline-bin': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'no-results': { type: 'boolean', default: false },
  },
});
const scale = Number(flags.scale);
const rounds = Number(flags.rounds);
const jobs = Number(flags.jobs);
const tools = flags.tools.split(',').map((t) => t.trim()) as Tool[];
const maxLoad = Number(flags['max-load']);
const loadWait = Number(flags['load-wait']);
for (const t of tools)
  if (!['carve', 'baseline', 'pgcopydb', 'dump', 'raw'].includes(t)) throw new Error(`unknown tool ${t}`);
if (tools.includes('baseline') && !flags['baseline-bin'])
  throw new Error('--tools baseline needs --baseline-bin');

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  log(`logs, event streams and profiles in ${outDir}`);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/copy', 'src/cli', 'src/provision'], {
    cwd: repoRoot,
  })
    .toString()
    .trim();
  if (!flags['no-build']) {
    log('building dist/ (tsc)');
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'pipe' });
    } catch (error) {
      // tsc emits even when someone else's file has a type error; the CLI run below is the real check.
      log(
        `tsc reported errors (emitted anyway): ${String((error as { stdout?: Buffer }).stdout ?? '').slice(0, 400)}`,
      );
    }
  }

  const clusters: LocalCluster[] = [];
  try {
    let monolithUrl = flags['monolith-url'];
    let seedSeconds: number | undefined;
    if (!monolithUrl) {
      const mono = await startCluster({
        name: 'bench-copy-src',
        fsync: false,
        settings: SETTINGS,
        keep: flags['keep-monolith'],
      });
      if (!flags['keep-monolith']) clusters.push(mono);
      monolithUrl = await createDatabase(mono.url(), 'caresync');
      log(`seeding CareSync at scale ${scale} into ${monolithUrl}${flags['keep-monolith'] ? ' (kept)' : ''}`);
      const report = await seedMonolith({ url: monolithUrl, scale, seed: Number(flags.seed) });
      seedSeconds = report.seconds;
      log(
        `seeded ${report.totalRows} rows, ${(report.databaseBytes / 1e9).toFixed(2)} GB in ${report.seconds.toFixed(0)} s`,
      );
    }
    const target = await startCluster({ name: 'bench-copy-dst', fsync: false, settings: SETTINGS });
    clusters.push(target);
    const targetServer = target.url();
    if (flags['log-statements']) {
      await withClient(targetServer, async (c) => {
        await c.query(`ALTER SYSTEM SET log_min_duration_statement = 0`);
        await c.query(`SELECT pg_reload_conf()`);
      });
    }
    process.env.MONOLITH_URL = monolithUrl;
    process.env.TARGET_URL = targetServer;

    const { routing } = await prepareRouting(join(repoRoot, PLAN));
    const exclude = routing.excluded.map((t) => ({ schema: t.schema, name: t.name }));
    // Hint bits and visibility map set once, before any tool reads (else the first reader pays).
    await withClient(monolithUrl, (c) => c.query('VACUUM (ANALYZE)'));
    const tables = await leafTables(
      monolithUrl,
      exclude.map((t) => `${t.schema}.${t.name}`),
    );
    checkRoutingCovers(routing, tables);
    const [size] = await query<{ db: string }>(
      monolithUrl,
      'SELECT pg_database_size(current_database())::text AS db',
    );
    const setup: BenchSetup = {
      date: new Date().toISOString(),
      commit: dirty ? `${commit} (+ uncommitted changes in src/copy, src/cli or src/provision)` : commit,
      scale,
      seed: Number(flags.seed),
      rounds,
      jobs,
      command: `npm run bench:copy -- --scale ${scale} --rounds ${rounds}`,
      monolithBytes: Number(size!.db),
      tables: tables.length,
      rows: tables.reduce((s, t) => s + t.rows, 0),
      dataBytes: tables.reduce((s, t) => s + t.bytes, 0),
      excluded: exclude.map((t) => `${t.schema}.${t.name}`),
      settings: await showSettings(monolithUrl, REPORTED_SETTINGS),
      targetSettings: await showSettings(targetServer, REPORTED_SETTINGS),
      machine: `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
      loadAtStart: loadAverage1m(),
      seedSeconds,
      tools,
      maxLoad,
      monolithObjects: await objectCounts(monolithUrl),
    };
    writeFileSync(join(outDir, 'setup.json'), JSON.stringify(setup, null, 2));
    log(
      `monolith: ${setup.tables} tables copied, ${setup.rows} rows, ${(setup.dataBytes / 1e6).toFixed(0)} MB heap+TOAST (${(setup.monolithBytes / 1e6).toFixed(0)} MB database)`,
    );

    const monolithPid = await postmasterPid(monolithUrl);
    const targetPid = await postmasterPid(targetServer);
    const runs: BenchRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const tool of tools) {
        await emptyCluster(targetServer);
        await resetMonolith(monolithUrl, routing);
        await checkpoint(monolithUrl);
        await checkpoint(targetServer);
        const gate = await waitForLoadBelow(maxLoad, loadWait, (load, waited) => {
          if (Math.round(waited) % 60 < 5) log(`waiting for load < ${maxLoad} (now ${load})`);
        });
        log(
          `round ${round} ${tool}: start (load ${gate.load}${gate.belowThreshold ? '' : ', above threshold'})`,
        );
        const sampler = flags['sample-activity']
          ? await sampleActivity({ monolith: monolithUrl, target: targetServer })
          : undefined;
        const run = await runToolWithCpu(tool, round, {
          monolithUrl,
          targetServer,
          routing,
          tables,
          exclude,
          monolithPid,
          targetPid,
        });
        if (sampler) {
          const samples = await sampler.stop();
          writeFileSync(
            join(outDir, `${tool}-r${round}.activity.jsonl`),
            samples.map((x) => JSON.stringify(x)).join('\n'),
          );
          log(
            `activity samples (0.5 s) ${tool} r${round}:\n${summarizeActivity(samples).slice(0, 15).join('\n')}`,
          );
        }
        const loadAfter = loadAverage1m();
        const check = await checkRun(tool, { monolithUrl, targetServer, routing, tables });
        const bench: BenchRun = { round, tool, loadBefore: gate.load, loadAfter, ...run, ...check };
        runs.push(bench);
        appendFileSync(join(outDir, 'runs.jsonl'), `${JSON.stringify(bench)}\n`);
        log(
          `round ${round} ${tool}: ${bench.seconds.toFixed(1)} s, peak RSS ${(bench.maxRssKb / 1024).toFixed(0)} MiB, rows ${bench.rowsOk ? 'equal' : 'DIFFERENT'}, ${JSON.stringify(bench.steps)}`,
        );
      }
    }
    await emptyCluster(targetServer);
    await resetMonolith(monolithUrl, routing);

    const markdown = renderCopyResults(setup, runs);
    writeFileSync(join(outDir, 'results.md'), markdown);
    console.log(`\n${markdown}`);
    if (!flags['no-results']) {
      replaceResultsSection(join(here, 'RESULTS.md'), '## Copy', markdown);
      log('wrote the "## Copy" section of bench/RESULTS.md');
    }
    if (flags['keep-monolith']) log(`monolith kept: ${monolithUrl}`);
    if (flags['log-statements']) copyFileSync(target.logFile, join(outDir, 'target-server.log'));
  } finally {
    for (const c of clusters) await c.destroy().catch(() => {});
  }
}

interface Context {
  monolithPid: number;
  targetPid: number;
  monolithUrl: string;
  targetServer: string;
  routing: Routing;
  tables: LeafTable[];
  exclude: { schema: string; name: string }[];
}

type ToolRun = Pick<BenchRun, 'seconds' | 'maxRssKb' | 'steps' | 'cpuSeconds'>;

/** The tool's run, plus the CPU seconds both servers spent meanwhile (robust to machine load). */
async function runToolWithCpu(
  tool: Tool,
  round: number,
  ctx: Context,
): Promise<ToolRun & Pick<BenchRun, 'serverCpu'>> {
  const before = [serverCpuSeconds(ctx.monolithPid), serverCpuSeconds(ctx.targetPid)];
  const run = await runTool(tool, round, ctx);
  const after = [serverCpuSeconds(ctx.monolithPid), serverCpuSeconds(ctx.targetPid)];
  return { ...run, serverCpu: { monolith: after[0]! - before[0]!, target: after[1]! - before[1]! } };
}

async function runTool(tool: Tool, round: number, ctx: Context): Promise<ToolRun> {
  const logFile = join(outDir, `${tool}-r${round}.log`);
  if (tool === 'carve') return runCarve(round, logFile, join(repoRoot, 'bin', 'carve.js'), tool);
  if (tool === 'baseline') return runCarve(round, logFile, flags['baseline-bin']!, tool);
  const peerDb = await createDatabase(ctx.targetServer, 'peer');
  const options = {
    source: ctx.monolithUrl,
    target: peerDb,
    jobs,
    exclude: ctx.exclude,
    workDir: peerWorkDir(outDir, tool, round),
    logFile,
  };
  let run: PeerRun;
  if (tool === 'pgcopydb') run = await pgcopydbClone(options);
  else if (tool === 'dump') run = await dumpRestore(options);
  else run = await rawPipeCopy({ ...options, tables: ctx.tables });
  rmSync(options.workDir, { recursive: true, force: true });
  return run;
}

async function runCarve(round: number, logFile: string, carve: string, tool: Tool): Promise<ToolRun> {
  const started = performance.now();
  const provision = await runTimed(
    'node',
    [carve, 'provision', '--plan', PLAN, '--secrets-dir', join(outDir, 'secrets'), '--json'],
    { cwd: repoRoot, stdoutFile: logFile, stderrFile: logFile },
  );
  const marks: Record<string, number> = {};
  const events = join(outDir, `${tool}-r${round}.jsonl`);
  const nodeArgs = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'prof')}`] : [];
  const copy = await runTimed(
    'node',
    [...nodeArgs, carve, 'copy', '--plan', PLAN, '--jobs', String(jobs), '--json'],
    {
      cwd: repoRoot,
      stderrFile: logFile,
      onStdoutLine: (line, at) => {
        // The event stream, each line stamped with the seconds since the copy process started.
        const stamped = line.startsWith('{') ? `{"at":${at.toFixed(3)},${line.slice(1)}` : line;
        appendFileSync(events, `${stamped}\n`);
        const type = /^\{"type":"([a-z-]+)"/.exec(line)?.[1];
        if (type && !(type in marks)) marks[type] = at;
        if (type === 'chunk-done') marks.lastChunkDone = at;
      },
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const loadStart = marks['copy-started'] ?? 0;
  const postLoad = marks['post-load-started'] ?? marks.lastChunkDone ?? copy.seconds;
  return {
    seconds,
    maxRssKb: Math.max(provision.maxRssKb, copy.maxRssKb),
    cpuSeconds: provision.userSeconds + provision.systemSeconds + copy.userSeconds + copy.systemSeconds,
    steps: {
      provision: provision.seconds,
      'copy-setup': loadStart,
      load: postLoad - loadStart,
      'post-load': copy.seconds - postLoad,
    },
  };
}

/** Drop what a carve run leaves on the monolith (slot, publication), so the next one starts clean. */
async function resetMonolith(monolithUrl: string, routing: Routing): Promise<void> {
  await withClient(monolithUrl, async (c) => {
    await c.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`,
      [routing.names.slot],
    );
    await c.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(routing.names.publication)}`);
  });
}

/** Untimed: every copied table has the monolith's row count; what objects the targets ended with. */
async function checkRun(
  tool: Tool,
  ctx: Pick<Context, 'monolithUrl' | 'targetServer' | 'routing' | 'tables'>,
): Promise<Pick<BenchRun, 'rowsOk' | 'rowsCopied' | 'objects' | 'mismatches'>> {
  const expected = new Map<string, number>();
  for (const t of ctx.tables) expected.set(`${t.schema}.${t.name}`, t.rows);
  const mismatches: string[] = [];
  let rowsCopied = 0;
  if (tool === 'carve' || tool === 'baseline') {
    let objects: ObjectCounts | undefined;
    for (const service of ctx.routing.services) {
      const counts = await objectCounts(service.url, [ctx.routing.names.stateSchema]);
      objects = objects ? addCounts(objects, counts) : counts;
      await withClient(service.url, async (c) => {
        for (const route of service.tables) {
          if (route.kind !== 'owned') continue;
          const sources = route.sourcePartitions.length ? route.sourcePartitions : [route.source];
          const want = sources.reduce((s, t) => s + (expected.get(`${t.schema}.${t.name}`) ?? NaN), 0);
          const { rows } = await c.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM ${quoteQualified(route.target.schema, route.target.name)}`,
          );
          const got = Number(rows[0]!.n);
          rowsCopied += got;
          if (got !== want) mismatches.push(`${route.id}: ${got} ≠ ${want}`);
        }
      });
    }
    return { rowsOk: mismatches.length === 0, rowsCopied, objects: objects!, mismatches };
  }
  const peerDb = withDatabase(ctx.targetServer, 'peer');
  const got = await leafTables(peerDb);
  for (const t of ctx.tables) {
    const n = got.find((g) => g.schema === t.schema && g.name === t.name)?.rows;
    rowsCopied += n ?? 0;
    if (n !== t.rows) mismatches.push(`${t.schema}.${t.name}: ${n} ≠ ${t.rows}`);
  }
  return { rowsOk: mismatches.length === 0, rowsCopied, objects: await objectCounts(peerDb), mismatches };
}

function checkRoutingCovers(routing: Routing, tables: LeafTable[]): void {
  const routed = new Set<string>();
  for (const r of routing.routes) {
    for (const t of r.sourcePartitions.length ? r.sourcePartitions : [r.source])
      routed.add(`${t.schema}.${t.name}`);
  }
  const copied = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  const onlyPeers = [...copied].filter((t) => !routed.has(t));
  const onlyCarve = [...routed].filter((t) => !copied.has(t));
  if (onlyPeers.length || onlyCarve.length) {
    throw new Error(
      `carve and the peers would copy different tables: only peers ${onlyPeers.join(', ')}; only carve ${onlyCarve.join(', ')}`,
    );
  }
}

await main();
