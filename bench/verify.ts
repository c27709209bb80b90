/**
 * carve verify against a naive comparison, on one seeded and copied CareSync monolith, in one run.
 *
 *   npm run bench:verify -- --scale 0.2 --rounds 3
 *
 * Two throwaway clusters, same settings (fsync off): the monolith, seeded with the demo's
 * seedMonolith, and the target, provisioned and filled by carve's own provision + copy (library
 * calls, untimed). Then, alternating, each round:
 *   carve  `node bin/carve.js verify --plan plans/caresync.yaml --json` under /usr/bin/time -v
 *          (whole process: start, plan, catalog, alignment, rows, cut FKs, sequences);
 *   naive  per route (owned tables and projections, with the same column mapping), on both sides
 *          at once: SELECT count(*), md5(string_agg(ROW(cols)::text, '' ORDER BY key)); routes one
 *          after the other; work_mem set to carve's 64MB too.
 * rows/s = monolith rows of every route / wall seconds (the same numerator for both).
 *
 * Localisation: a synthetic monolith database with two 5M-row tables (bigint key; uuid key),
 * provisioned and copied by carve; one value changed in the target; `carve verify --tables <t>`
 * must report exactly that key. Three runs each, median.
 *
 * Flags: --scale (0.2) --seed (1) --rounds (3) --jobs (carve verify --jobs, default 4)
 *   --big-rows (5000000) --no-big --no-results --keep (leave the clusters running; reuse with --reuse)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIndexesWithProvision } from '../src/cli/copy.js';
import { startCluster, type LocalCluster } from '../src/cluster/local-cluster.js';
import { copy } from '../src/copy/index.js';
import { seedMonolith } from '../src/demo/seed/seed-monolith.js';
import { withClient, withDatabase } from '../src/pg/connect.js';
import { quoteIdent, quoteQualified } from '../src/pg/quote.js';
import { provision } from '../src/provision/index.js';
import type { Routing, TableRoute } from '../src/routing/model.js';
import { prepareRouting } from '../src/routing/prepare-routing.js';
import type { VerifyResult } from '../src/verify/events.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
const outDir = join(here, 'out', 'verify');
const SETTINGS = {
  shared_buffers: '256MB',
  synchronous_commit: 'on',
  max_wal_size: '4GB',
  wal_level: 'logical',
};
const REPORTED = [
  'shared_buffers',
  'fsync',
  'synchronous_commit',
  'max_wal_size',
  'wal_level',
  'work_mem',
  'max_parallel_workers_per_gather',
  'jit',
  'server_version',
];

const { values: flags } = parseArgs({
  args: process.argv.slice(1),
  options: {
    scale: { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '4' },
    'big-rows': { type: 'string', default: '5000000' },
    'no-big': { type: 'boolean', default: false },
    'no-results': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
  },
});
const scale = Number(flags.scale);
const rounds = Number(flags.rounds);
const bigRows = Number(flags['big-rows']);
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Clusters {
  monolith: string;
  targetServer: string;
  synthetic?: string;
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/verify', 'src/cli/verify.ts'], {
    cwd: repoRoot,
  })
    .toString()
    .trim();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'ignore' });
  const owned: LocalCluster[] = [];
  const stateFile = join(outDir, 'clusters.json');
  try {
    let c: Clusters;
    let seedSeconds = 0;
    let copySeconds = 0;
    if (flags.reuse && existsSync(stateFile)) {
      c = JSON.parse(readFileSync(stateFile, 'utf8')) as Clusters;
      log(`reusing ${c.monolith} and ${c.targetServer}`);
    } else {
      const [mono, target] = await Promise.all([
        startCluster({ name: 'bench-verify-src', fsync: false, settings: SETTINGS, keep: flags.keep }),
        startCluster({ name: 'bench-verify-dst', fsync: false, settings: SETTINGS, keep: flags.keep }),
      ]);
      if (!flags.keep) owned.push(mono, target);
      c = { monolith: await createDb(mono.url(), 'caresync'), targetServer: target.url() };
      log(`seeding CareSync at scale ${scale}`);
      const seeded = await seedMonolith({ url: c.monolith, scale, seed: Number(flags.seed) });
      seedSeconds = seeded.seconds;
      log(`seeded ${seeded.totalRows} rows in ${seeded.seconds.toFixed(0)} s`);
      // Everything that writes WAL on the monolith happens before the slots exist: verify (no sync
      // running) reads the slot from its start up to its verify point, which should hold only what
      // an operator's monolith would have written since the copy, here nothing.
      await withClient(c.monolith, (x) => x.query('VACUUM ANALYZE'));
      if (!flags['no-big']) {
        c.synthetic = await createDb(mono.url(), 'synthetic');
        await createSynthetic(c.synthetic);
      }
      log('provisioning and copying');
      const t0 = performance.now();
      await migrate(join(repoRoot, 'plans/caresync.yaml'), {
        MONOLITH_URL: c.monolith,
        TARGET_URL: c.targetServer,
      });
      copySeconds = (performance.now() - t0) / 1000;
      if (c.synthetic) await migrate(writeSyntheticPlan(c), {});
      if (flags.keep) writeFileSync(stateFile, JSON.stringify(c));
      log(`migrated in ${copySeconds.toFixed(0)} s (CareSync)`);
    }
    process.env.MONOLITH_URL = c.monolith;
    process.env.TARGET_URL = c.targetServer;
    const { routing } = await prepareRouting(join(repoRoot, 'plans/caresync.yaml'));
    // Hint bits and visibility maps set before anyone reads: else the first reader pays for them.
    await vacuumTargets(routing);
    const sourceRows = await routeRows(routing);
    const settings = await showSettings(c.monolith);

    const runs: {
      round: number;
      carve: number;
      naive: number;
      rssKb: number;
      carveOk: boolean;
      naiveDiffering: number;
      perRowMd5: string[];
      phases: string;
      loads: string;
    }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const loadBefore = loadavg()[0]!.toFixed(1);
      const carveRun = await runCarveVerify(['--plan', 'plans/caresync.yaml'], round);
      log(
        `round ${round} carve: ${carveRun.seconds.toFixed(1)} s, RSS ${(carveRun.rssKb / 1024).toFixed(0)} MiB, ok=${carveRun.result.ok}, load ${loadavg()[0]!.toFixed(1)}`,
      );
      const naive = await runNaive(routing);
      log(
        `round ${round} naive: ${naive.seconds.toFixed(1)} s, ${naive.differing} routes differing, load ${loadavg()[0]!.toFixed(1)}`,
      );
      runs.push({
        round,
        carve: carveRun.seconds,
        naive: naive.seconds,
        rssKb: carveRun.rssKb,
        carveOk: carveRun.result.ok,
        naiveDiffering: naive.differing,
        perRowMd5: naive.perRowMd5,
        phases: phases(carveRun.result),
        loads: `${loadBefore} → ${loadavg()[0]!.toFixed(1)}`,
      });
    }

    const localisation: { table: string; seconds: number[]; reported: string; rssKb: number }[] = [];
    if (c.synthetic) {
      const synthPlan = writeSyntheticPlan(c);
      const targetUrl = withDatabase(c.targetServer, 'synth_db');
      await withClient(targetUrl, (x) => x.query('VACUUM ANALYZE'));
      for (const [table, where] of [
        ['big_int', `id = ${Math.floor((bigRows * 2) / 3)}`],
        [
          'big_uuid',
          `id = (SELECT id FROM big_uuid ORDER BY id OFFSET ${Math.floor(bigRows * 0.44)} LIMIT 1)`,
        ],
      ] as const) {
        const key = await withClient(
          targetUrl,
          async (x) =>
            (await x.query(`UPDATE ${table} SET b = 'changed' WHERE ${where} RETURNING id::text`)).rows[0].id,
        );
        const seconds: number[] = [];
        let reported = '';
        let rssKb = 0;
        for (let i = 0; i < 3; i++) {
          const run = await runCarveVerify(['--plan', synthPlan, '--tables', table], i, false);
          const t = run.result.tables[0]!;
          reported = JSON.stringify(t.mismatches);
          if (t.mismatches.length !== 1 || t.mismatches[0]!.key.id !== key)
            throw new Error(`${table}: expected exactly key ${key}, got ${reported}`);
          seconds.push(run.seconds);
          rssKb = Math.max(rssKb, run.rssKb);
          log(`localisation ${table}: ${run.seconds.toFixed(1)} s → ${reported}`);
        }
        await withClient(c.synthetic, async (s) => {
          const orig = (await s.query(`SELECT b FROM ${table} WHERE id::text = $1`, [key])).rows[0].b;
          await withClient(targetUrl, (x) =>
            x.query(`UPDATE ${table} SET b = $1 WHERE id::text = $2`, [orig, key]),
          );
        });
        localisation.push({ table, seconds, reported, rssKb });
      }
    }

    const markdown = render({
      date: new Date().toISOString(),
      commit: dirty ? `${commit} (+ uncommitted changes in src/verify)` : commit,
      scale,
      rounds,
      seedSeconds,
      copySeconds,
      settings,
      sourceRows,
      routes: routing.routes.length,
      runs,
      localisation,
    });
    writeFileSync(join(outDir, 'results.md'), markdown);
    console.log(`\n${markdown}`);
    if (!flags['no-results']) replaceSection(join(here, 'RESULTS.md'), '## Verify', markdown);
  } finally {
    for (const cl of owned) await cl.destroy().catch(() => {});
  }
}

async function createDb(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, (x) => x.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return withDatabase(serverUrl, name);
}

async function migrate(planFile: string, env: Record<string, string>): Promise<void> {
  Object.assign(process.env, env);
  const { catalog, routing } = await prepareRouting(planFile);
  await provision(catalog, routing, { secretsDir: join(outDir, 'secrets') });
  const result = await copy({ routing, jobs: 2, buildIndexes: buildIndexesWithProvision });
  if (!result.complete) throw new Error(`copy incomplete: ${JSON.stringify(result.failed)}`);
}

/** Two 5M-row tables: a bigint key (range buckets) and a uuid key (hash buckets), CareSync-like rows. */
async function createSynthetic(url: string): Promise<void> {
  log(`creating two synthetic tables of ${bigRows} rows`);
  for (const [table, key] of [
    ['big_int', 'g::bigint'],
    ['big_uuid', `md5(g::text)::uuid`],
  ] as const) {
    await withClient(url, (x) =>
      x.query(`CREATE TABLE ${table} (id ${table === 'big_int' ? 'bigint' : 'uuid'} PRIMARY KEY, patient_id integer NOT NULL,
                 created_at timestamptz NOT NULL, b text, amount numeric(12,2), status text NOT NULL, notes text);
               INSERT INTO ${table} SELECT ${key}, g % 200000, timestamptz '2020-01-01' + g * interval '17 seconds', 'diagnosis ' || (g % 5000),
                 (g % 100000) / 100.0, (ARRAY['open','closed','billed'])[1 + g % 3], CASE WHEN g % 4 = 0 THEN NULL ELSE repeat('x', g % 60) END
                 FROM generate_series(1, ${bigRows}) g;`),
    );
  }
  await withClient(url, (x) => x.query('VACUUM ANALYZE'));
}

function writeSyntheticPlan(c: Clusters): string {
  const file = join(outDir, 'synthetic.yaml');
  writeFileSync(
    file,
    `name: synth\nsource: ${c.synthetic}\ntarget: ${c.targetServer}\nservices:\n  big:\n    database: synth_db\n    tables:\n      big_int: {}\n      big_uuid: {}\n`,
  );
  return file;
}

/** Targets only: the monolith was vacuumed before its slot was created (see main). */
async function vacuumTargets(routing: Routing): Promise<void> {
  for (const s of routing.services) await withClient(s.url, (x) => x.query('VACUUM'));
}

async function routeRows(routing: Routing): Promise<number> {
  let rows = 0;
  for (const r of routing.routes) {
    rows += Number(
      (
        await withClient(routing.sourceUrl, (x) =>
          x.query(`SELECT count(*) FROM ${quoteQualified(r.source.schema, r.source.name)}`),
        )
      ).rows[0].count,
    );
  }
  return rows;
}

async function showSettings(url: string): Promise<Record<string, string>> {
  const { rows } = await withClient(url, (x) =>
    x.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [REPORTED]),
  );
  return Object.fromEntries(
    rows.map((r) => [r.name, `${r.setting}${r.unit && r.unit !== '' ? ` ${r.unit}` : ''}`]),
  );
}

/** carve verify as a subprocess under GNU time: wall seconds, peak RSS, parsed JSON result. */
async function runCarveVerify(
  args: string[],
  round: number,
  strict = true,
): Promise<{ seconds: number; rssKb: number; result: VerifyResult }> {
  const timeFile = join(outDir, `time-${process.pid}-${round}.txt`);
  const started = performance.now();
  const child = spawn(
    '/usr/bin/time',
    [
      '-v',
      '-o',
      timeFile,
      'node',
      join(repoRoot, 'bin/carve.js'),
      'verify',
      ...args,
      '--json',
      '--jobs',
      flags.jobs,
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 1)));
  const seconds = (performance.now() - started) / 1000;
  const time = readFileSync(timeFile, 'utf8');
  rmSync(timeFile, { force: true });
  if (code !== 0 && (strict || code !== 4))
    throw new Error(`carve verify exited ${code}: ${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size[^:]*:\s*(\d+)/.exec(time);
  return { seconds, rssKb: rss ? Number(rss[1]) : NaN, result: JSON.parse(stdout) as VerifyResult };
}

/** The naive comparison: per route, both sides at once, md5 of every row text in key order. */
/**
 * The naive comparison: per route, both sides at once, md5 of every row text in key order. A
 * table whose rows add up to more than PostgreSQL's 1 GB string limit cannot be done that way
 * (54000 out of memory); it is redone with md5 of each row's text aggregated instead (the
 * smallest change that works), and only that second attempt is timed.
 */
async function runNaive(
  routing: Routing,
): Promise<{ seconds: number; differing: number; perRowMd5: string[] }> {
  let seconds = 0;
  let differing = 0;
  const perRowMd5: string[] = [];
  for (const route of routing.routes) {
    const url = routing.services.find((s) => s.database === route.database)!.url;
    const both = (variant: 'whole' | 'per-row') =>
      Promise.all([
        naiveDigest(routing.sourceUrl, route, 'source', variant),
        naiveDigest(url, route, 'target', variant),
      ]);
    let started = performance.now();
    let digests: string[];
    try {
      digests = await both('whole');
    } catch (error) {
      if ((error as { code?: string }).code !== '54000') throw error;
      perRowMd5.push(`${route.target.name}${route.kind === 'projection' ? ` (${route.database})` : ''}`);
      started = performance.now();
      digests = await both('per-row');
    }
    seconds += (performance.now() - started) / 1000;
    if (digests[0] !== digests[1]) differing++;
  }
  return { seconds, differing, perRowMd5 };
}

async function naiveDigest(
  url: string,
  route: TableRoute,
  side: 'source' | 'target',
  variant: 'whole' | 'per-row',
): Promise<string> {
  const name = (source: string) =>
    side === 'source' ? source : route.columns.find((c) => c.source === source)!.target;
  const cols = route.columns.map((c) => quoteIdent(side === 'source' ? c.source : c.target));
  const key = route.key.map((k) => quoteIdent(name(k)));
  const table =
    side === 'source'
      ? quoteQualified(route.source.schema, route.source.name)
      : quoteQualified(route.target.schema, route.target.name);
  const row = `ROW(${cols.join(', ')})::text`;
  return withClient(url, async (x) => {
    await x.query(`SET work_mem = '64MB'; SET TimeZone = 'UTC'; SET extra_float_digits = 1`);
    const { rows } = await x.query(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(${variant === 'whole' ? row : `md5(${row})`}, '' ORDER BY ${key.join(', ')})), '') AS d FROM ${table}`,
    );
    return rows[0].d as string;
  });
}

function phases(result: VerifyResult): string {
  const t = result.timings;
  return [t.alignMs, t.rowsMs, t.foreignKeysMs, t.sequencesMs]
    .map((ms) => (ms / 1000).toFixed(1))
    .join(' / ');
}

interface Report {
  date: string;
  commit: string;
  scale: number;
  rounds: number;
  seedSeconds: number;
  copySeconds: number;
  settings: Record<string, string>;
  sourceRows: number;
  routes: number;
  runs: {
    round: number;
    carve: number;
    naive: number;
    rssKb: number;
    carveOk: boolean;
    naiveDiffering: number;
    perRowMd5: string[];
    phases: string;
    loads: string;
  }[];
  localisation: { table: string; seconds: number[]; reported: string; rssKb: number }[];
}

function render(r: Report): string {
  const ratios = r.runs.map((x) => x.naive / x.carve);
  const carve = median(r.runs.map((x) => x.carve));
  const naive = median(r.runs.map((x) => x.naive));
  const lines = [
    `Date ${r.date}, commit ${r.commit}, CareSync scale ${r.scale} (seed ${flags.seed}), ${r.routes} routes, ${r.sourceRows.toLocaleString('en-US')} monolith rows compared per run.`,
    `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other work (load average at the end ${loadavg()[0]!.toFixed(1)}).`,
    `Server settings (both clusters): ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}.`,
    `Command: \`npm run bench:verify -- --scale ${r.scale} --rounds ${r.rounds}\` (carve verify --jobs ${flags.jobs}; targets filled by carve provision + copy).`,
    '',
    '| round | carve verify s | naive s | naive / carve | carve rows/s | naive rows/s | carve peak RSS MiB | carve ok | naive routes differing | carve phases s (align / rows / cut FKs / sequences) | load avg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.runs.map(
      (x) =>
        `| ${x.round} | ${x.carve.toFixed(1)} | ${x.naive.toFixed(1)} | ${(x.naive / x.carve).toFixed(2)} | ${Math.round(r.sourceRows / x.carve).toLocaleString('en-US')} | ${Math.round(r.sourceRows / x.naive).toLocaleString('en-US')} | ${(x.rssKb / 1024).toFixed(0)} | ${x.carveOk} | ${x.naiveDiffering} | ${x.phases} | ${x.loads} |`,
    ),
    `| **median** | **${carve.toFixed(1)}** | **${naive.toFixed(1)}** | **${median(ratios).toFixed(2)}** (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}) | ${Math.round(r.sourceRows / carve).toLocaleString('en-US')} | ${Math.round(r.sourceRows / naive).toLocaleString('en-US')} | ${(Math.max(...r.runs.map((x) => x.rssKb)) / 1024).toFixed(0)} (max) | | | | |`,
    '',
    `rows/s = monolith rows of all routes / wall seconds of the whole process. carve's rows and cut-FK phases run concurrently. Naive tables over PostgreSQL's 1 GB string limit, done with md5 per row instead: ${[...new Set(r.runs.flatMap((x) => x.perRowMd5))].join(', ') || 'none'}.`,
    '',
    `Goal ≥ 3× faster than naive: ${median(ratios) >= 3 ? 'met' : `**missed** (${median(ratios).toFixed(2)}×)`}.`,
  ];
  if (r.localisation.length) {
    lines.push(
      '',
      `Localisation of one changed value in a synthetic ${bigRows.toLocaleString('en-US')}-row table (whole \`carve verify --tables <t>\` process, 3 runs):`,
      '',
    );
    lines.push(
      '| table | key | runs s | median s | peak RSS MiB | reported |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const l of r.localisation) {
      lines.push(
        `| ${l.table} | ${l.table === 'big_int' ? 'bigint (range buckets)' : 'uuid (hash buckets)'} | ${l.seconds.map((s) => s.toFixed(1)).join(', ')} | ${median(l.seconds).toFixed(1)} | ${(l.rssKb / 1024).toFixed(0)} | \`${l.reported}\` |`,
      );
    }
    const worst = Math.max(...r.localisation.map((l) => median(l.seconds)));
    lines.push('', `Goal < 10 s: ${worst < 10 ? 'met' : `**missed** (worst median ${worst.toFixed(1)} s)`}.`);
  }
  return lines.join('\n');
}

/** Rewrite one "## Name" section of RESULTS.md, keeping the others (and a hand-written "### Analysis"). */
function replaceSection(file: string, heading: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  let end = lines.length;
  if (start !== -1)
    for (let i = start + 1; i < lines.length; i++)
      if (/^## /.test(lines[i]!)) {
        end = i;
        break;
      }
  const old = start === -1 ? [] : lines.slice(start, end);
  const analysis = old.findIndex((l) => l.trim() === '### Analysis');
  const kept = analysis === -1 ? '' : `\n${old.slice(analysis).join('\n').trimEnd()}\n`;
  const section = `${heading}\n\n${body.trim()}\n${kept}`;
  const next =
    start === -1
      ? `${text.trimEnd()}\n\n${section}`
      : [
          ...lines.slice(0, start),
          ...section.split('\n'),
          ...(end < lines.length ? ['', ...lines.slice(end)] : []),
        ].join('\n');
  writeFileSync(file, `${next.trimEnd()}\n`);
}

await main();
