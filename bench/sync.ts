/**
 * carve sync against PostgreSQL's native logical replication, on the same backlog, in the same run.
 *
 *   npm run build && npm run bench:sync
 *
 * Env: CHANGES (default 1000000) changes per backlog, ROUNDS (default 3), MIX (mixed: 40% of the
 * changes in 4-change transactions, 30% in 300-change ones, 30% in 100,000-change ones; oltp: only
 * 4-change transactions; batch: no 4-change ones), STEADY_SECONDS (default
 * 120) and STEADY_RATE (default 1000 changes/s) for the steady-state lag run; SKIP_STEADY=1,
 * SKIP_CATCHUP=1; SPLIT=1 moves the four tables into four service databases, as a split does
 * (SPLIT=9: into CareSync's nine, the five others each holding a table the backlog leaves alone)
 * (carve: one stream, four appliers; native: one subscription, hence one slot and one walsender
 * decoding all of the WAL, per database — the only way native replication feeds several databases).
 *
 * Catch-up, per round: reseed the monolith; carve copy into a fresh service database; load the
 * same rows into a fresh, identical database for a native subscription created (disabled, with its
 * slot) right after; write the backlog (a mix of 4-, 300- and 100,000-change transactions) with
 * carve stopped and the subscription disabled; then, in alternating order, (a) run
 * `carve sync --until-caught-up` as a subprocess under /usr/bin/time -v (wall time of the whole
 * process, peak RSS) and (b) enable the subscription and time until a marker row written after the
 * backlog is visible in its database. Both targets are checked equal to the monolith.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../src/cluster/local-cluster.js';
import { copy } from '../src/copy/index.js';
import { introspect } from '../src/catalog/introspect.js';
import { connect, withClient, type Client } from '../src/pg/connect.js';
import { quoteLiteral } from '../src/pg/quote.js';
import { parsePlan } from '../src/plan/load.js';
import { buildRouting } from '../src/routing/build-routing.js';
import type { Routing } from '../src/routing/model.js';
import { startSync } from '../src/sync/index.js';
import { BACKLOG_SQL, backlogShape, seed, steadyTransaction, TABLES, TABLES_SQL } from './sync-workload.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
const outDir = join(here, 'out');
const CHANGES = Number(process.env.CHANGES ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MIX = (process.env.MIX ?? 'mixed') as 'mixed' | 'oltp' | 'batch';
const STEADY_SECONDS = Number(process.env.STEADY_SECONDS ?? 120);
const STEADY_RATE = Number(process.env.STEADY_RATE ?? 1000);
const SPLIT = process.env.SPLIT === '1' || process.env.SPLIT === '9';
const NINE = process.env.SPLIT === '9';
/**
 * SPLIT=9: CareSync's other five service databases (docs/demo.md), each with one table of its own
 * that the backlog does not write — as in a real split, where most services are quiet while the
 * busiest tables change; native replication still needs a subscription (a walsender decoding all
 * of the WAL) per database.
 */
const IDLE: Record<string, string> = NINE
  ? {
      auth_db: 'auth_users',
      pharmacy_db: 'prescriptions',
      laboratory_db: 'lab_results',
      analytics_db: 'report_rows',
      shared_db: 'settings',
    }
  : {};
const IDLE_SQL = Object.values(IDLE)
  .map((t) => `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL);`)
  .join('\n');
/** Service database → its tables (bench_marker rides with billing_db; native also copies it to every database). */
const SERVICES: Record<string, string[]> = SPLIT
  ? {
      patient_db: ['patients'],
      appointment_db: ['appointments'],
      clinical_db: ['observations'],
      billing_db: ['invoices', 'bench_marker'],
      ...Object.fromEntries(Object.entries(IDLE).map(([db, t]) => [db, [t]])),
    }
  : { carve_db: [...TABLES] };
const dbOf = (table: string) => Object.entries(SERVICES).find(([, ts]) => ts.includes(table))![0];
/** Native target databases, one per service database, and their subscription names. */
const NATIVE = Object.keys(SERVICES).map((db, i) => ({
  db: SPLIT ? `native_${db}` : 'native_db',
  sub: SPLIT ? `native_sub_${i}` : 'native_sub',
  pub: SPLIT ? `native_pub_${i}` : 'native_pub',
  tables: SPLIT ? [...new Set([...SERVICES[db]!, 'bench_marker'])] : [...TABLES],
  service: db,
}));
const SETTINGS = {
  shared_buffers: '256MB',
  synchronous_commit: 'on',
  max_wal_size: '4GB',
  wal_level: 'logical',
  // SPLIT=9: nine subscriptions need nine slots, walsenders and apply workers (defaults: 10, 10, 4).
  max_replication_slots: '32', // on the targets also the replication origins: carve's and native's, one per database
  max_wal_senders: '16',
  max_logical_replication_workers: '16',
  max_worker_processes: '24',
};

const log = (line: string) => console.log(line);

async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, values)).rows as T[]);
}

async function recreateDatabase(cluster: LocalCluster, name: string): Promise<string> {
  await withClient(cluster.url(), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  return cluster.url(name);
}

/** md5 of every row of every table, ordered by key; `urlOf` says where each table lives. */
async function fingerprint(urlOf: (table: string) => string): Promise<string> {
  const parts: string[] = [];
  for (const table of TABLES) {
    const [row] = await query<{ h: string }>(
      urlOf(table),
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') AS h FROM ${table} t`,
    );
    parts.push(`${table}=${row!.h}`);
  }
  return parts.join(' ');
}

interface Setup {
  source: LocalCluster;
  target: LocalCluster;
  monolith: string;
  routing: Routing;
  planFile: string;
}

async function setup(): Promise<Setup> {
  const [source, target] = await Promise.all([
    startCluster({ name: 'bench-sync-src', fsync: false, settings: SETTINGS }),
    startCluster({ name: 'bench-sync-dst', fsync: false, settings: SETTINGS }),
  ]);
  const monolith = await recreateDatabase(source, 'mono');
  // carve logs in to service databases as carve's role per service (carve_<service>), which
  // `carve provision` creates; the bench creates the tables itself, so it creates the roles too.
  for (const db of Object.keys(SERVICES)) {
    const role = `carve_${db.replace(/_db$/, '')}`;
    await query(
      target.url(),
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN SUPERUSER; END IF; END $$`,
    );
  }
  await withClient(monolith, async (c) => {
    await c.query(TABLES_SQL + IDLE_SQL);
    await c.query(BACKLOG_SQL);
  });
  const services = Object.entries(SERVICES)
    .map(
      ([db, tables]) =>
        `  ${db.replace(/_db$/, '')}:\n    database: ${db}\n    tables:\n${tables.map((t) => `      ${t}: {}\n`).join('')}`,
    )
    .join('');
  const planText = `name: bench\nsource: ${monolith}\ntarget: ${target.url()}\nexclude: [bench_count]\nservices:\n${services}`;
  mkdirSync(outDir, { recursive: true });
  const planFile = join(outDir, 'sync-plan.yaml');
  writeFileSync(planFile, planText);
  const catalog = await withClient(monolith, (c) => introspect(c));
  return { source, target, monolith, routing: buildRouting(parsePlan(planText), catalog), planFile };
}

/** Fresh monolith rows, a fresh carve copy, and a fresh native target with a disabled subscription. */
async function prepareRound(s: Setup): Promise<{ native: string }> {
  await query(
    s.monolith,
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'carve_bench' OR slot_name LIKE 'native_sub%'`,
  );
  await query(s.monolith, 'DROP PUBLICATION IF EXISTS carve_bench');
  for (const n of NATIVE) await query(s.monolith, `DROP PUBLICATION IF EXISTS ${n.pub}`);
  await withClient(s.monolith, (c) => seed(c));
  for (const db of Object.keys(SERVICES)) {
    const url = await recreateDatabase(s.target, db);
    await withClient(url, (c) => c.query(TABLES_SQL + IDLE_SQL)); // tables of other services stay empty
  }
  const result = await copy({
    routing: s.routing,
    jobs: 2,
    buildIndexes: async () => ({ indexes: 0, foreignKeys: 0 }),
  });
  if (!result.complete) throw new Error('copy failed');
  for (const n of NATIVE) {
    const native = await recreateDatabase(s.target, n.db);
    await withClient(native, (c) => c.query(TABLES_SQL + IDLE_SQL));
    for (const table of n.tables.filter((t) => t !== 'bench_marker'))
      await pipeTable(s.monolith, native, table);
    await query(s.monolith, `CREATE PUBLICATION ${n.pub} FOR TABLE ${n.tables.join(', ')}`);
    await query(
      native,
      `CREATE SUBSCRIPTION ${n.sub} CONNECTION ${quoteLiteral(`host=127.0.0.1 port=${s.source.port} dbname=mono user=postgres`)}
         PUBLICATION ${n.pub} WITH (copy_data = false, enabled = false, create_slot = true, slot_name = '${n.sub}')`,
    );
  }
  return { native: s.target.url(NATIVE[0]!.db) };
}

async function pipeTable(from: string, to: string, table: string): Promise<void> {
  const { from: copyFrom, to: copyTo } = await import('pg-copy-streams');
  const { pipeline } = await import('node:stream/promises');
  const source = await connect(from);
  const target = await connect(to);
  try {
    await pipeline(
      source.query(copyTo(`COPY ${table} TO STDOUT (FORMAT binary)`)),
      target.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT binary)`)),
    );
  } finally {
    await source.end();
    await target.end();
  }
}

async function writeBacklog(s: Setup): Promise<number> {
  const shape = backlogShape(CHANGES, MIX);
  await query(s.monolith, 'TRUNCATE bench_count');
  const t0 = Date.now();
  await query(s.monolith, 'CALL backlog($1, $2, $3, $4)', [
    shape.small,
    shape.mediumEvery,
    shape.largeEvery,
    shape.withSmall,
  ]);
  const [row] = await query<{ changes: string }>(s.monolith, 'SELECT changes FROM bench_count');
  await query(s.monolith, 'INSERT INTO bench_marker VALUES (1, now())');
  log(
    `  backlog: ${row!.changes} changes (${shape.small} small txns) written in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return Number(row!.changes) + 1;
}

/**
 * CPU seconds used by server processes found by `probes` (each: a URL and a query returning `pid`),
 * sampled from /proc every 200 ms while running: machine load changes wall times, not these.
 */
function watchCpu(probes: { url: string; sql: string }[]): { stop(): Promise<number> } {
  const last = new Map<number, number>();
  let running = true;
  const sample = async () => {
    for (const probe of probes) {
      const rows = await query<{ pid: number }>(probe.url, probe.sql).catch(() => []);
      for (const { pid } of rows) {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          last.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
        } catch {
          // exited between the query and the read
        }
      }
    }
  };
  const loop = (async () => {
    while (running) {
      await sample();
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...last.values()].reduce((a, b) => a + b, 0);
    },
  };
}

interface ToolRun {
  seconds: number;
  rssKb: number;
  /** CPU seconds: carve's node process (or 0 for native), the applying backend, the walsender. */
  cpu: { client: number; apply: number; walsender: number };
}

async function runCarve(s: Setup, round: number): Promise<ToolRun> {
  const t0 = process.hrtime.bigint();
  const applyCpu = watchCpu([
    {
      url: s.target.url(Object.keys(SERVICES)[0]!),
      sql: `SELECT pid FROM pg_stat_activity WHERE application_name = 'carve sync (bench)'`,
    },
  ]);
  const walsenderCpu = watchCpu([
    {
      url: s.monolith,
      sql: `SELECT pid FROM pg_stat_replication WHERE application_name = 'carve sync (bench)'`,
    },
  ]);
  const nodeArgs = process.env.CARVE_NODE_ARGS ? process.env.CARVE_NODE_ARGS.split(' ') : [];
  const child = spawn(
    '/usr/bin/time',
    [
      '-v',
      process.execPath,
      ...nodeArgs,
      join(repoRoot, 'bin/carve.js'),
      'sync',
      '--plan',
      s.planFile,
      '--until-caught-up',
      '--json',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(join(outDir, `sync-carve-round${round}.jsonl`), stdout);
  if (code !== 0) throw new Error(`carve sync exited ${code}: ${stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return {
    seconds,
    rssKb: rss ? Number(rss[1]) : 0,
    cpu: {
      client: Number(user?.[1] ?? 0) + Number(system?.[1] ?? 0),
      apply: await applyCpu.stop(),
      walsender: await walsenderCpu.stop(),
    },
  };
}

async function runNative(s: Setup): Promise<ToolRun> {
  const t0 = process.hrtime.bigint();
  for (const n of NATIVE) await query(s.target.url(n.db), `ALTER SUBSCRIPTION ${n.sub} ENABLE`);
  const applyCpu = watchCpu(
    NATIVE.map((n) => ({
      url: s.target.url(n.db),
      sql: `SELECT pid FROM pg_stat_subscription WHERE subname = '${n.sub}' AND pid IS NOT NULL`,
    })),
  );
  const walsenderCpu = watchCpu([
    { url: s.monolith, sql: `SELECT pid FROM pg_stat_replication WHERE application_name LIKE 'native_sub%'` },
  ]);
  // Caught up when every database holds the marker row written after the backlog.
  for (const n of NATIVE) {
    const client: Client = await connect(s.target.url(n.db));
    try {
      for (;;) {
        const { rows } = await client.query('SELECT 1 FROM bench_marker WHERE id = 1');
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await client.end();
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = { client: 0, apply: await applyCpu.stop(), walsender: await walsenderCpu.stop() };
  for (const n of NATIVE) await query(s.target.url(n.db), `ALTER SUBSCRIPTION ${n.sub} DISABLE`);
  return { seconds, rssKb: 0, cpu };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function catchUp(s: Setup): Promise<void> {
  const rows: { round: number; changes: number; carve: ToolRun; native: ToolRun }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS}`);
    await prepareRound(s);
    const changes = await writeBacklog(s);
    const order = round % 2 === 1 ? ['carve', 'native'] : ['native', 'carve'];
    const runs: Record<string, ToolRun> = {};
    for (const tool of order) {
      runs[tool] = tool === 'carve' ? await runCarve(s, round) : await runNative(s);
      log(`  ${tool}: ${runs[tool]!.seconds.toFixed(2)} s`);
    }
    const nativeOf = (table: string) => s.target.url(NATIVE.find((n) => n.service === dbOf(table))!.db);
    const [expected, gotCarve, gotNative] = await Promise.all([
      fingerprint(() => s.monolith),
      fingerprint((t) => s.target.url(dbOf(t))),
      fingerprint(nativeOf),
    ]);
    if (gotCarve !== expected) throw new Error(`round ${round}: the carve targets differ from the monolith`);
    if (gotNative !== expected) log(`  (the native targets differ from the monolith)`);
    for (const n of NATIVE) await query(s.target.url(n.db), `DROP SUBSCRIPTION ${n.sub}`);
    const row = { round, changes, carve: runs.carve!, native: runs.native! };
    rows.push(row);
    log(`  ${describeRound(row)}`);
  }
  const rate = (run: ToolRun, changes: number) => changes / run.seconds;
  const ratios = rows.map((r) => rate(r.carve, r.changes) / rate(r.native, r.changes));
  // CPU microseconds per change: what the run costs the machine, whatever else runs on it.
  const perChange = (cpu: number, changes: number) => ((cpu * 1e6) / changes).toFixed(1);
  log(
    '\n| round | changes | carve changes/s | native changes/s | carve / native | carve peak RSS | CPU µs/change carve (node + target backend + walsender) | CPU µs/change native (apply worker + walsender) |',
  );
  log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const c = r.carve.cpu;
    const n = r.native.cpu;
    log(
      `| ${r.round} | ${r.changes} | ${Math.round(rate(r.carve, r.changes))} | ${Math.round(rate(r.native, r.changes))} | ${(rate(r.carve, r.changes) / rate(r.native, r.changes)).toFixed(2)} | ${Math.round(r.carve.rssKb / 1024)} MB | ` +
        `${perChange(c.client + c.apply + c.walsender, r.changes)} (${perChange(c.client, r.changes)} + ${perChange(c.apply, r.changes)} + ${perChange(c.walsender, r.changes)}) | ` +
        `${perChange(n.apply + n.walsender, r.changes)} (${perChange(n.apply, r.changes)} + ${perChange(n.walsender, r.changes)}) |`,
    );
  }
  log(
    `| median | | ${Math.round(median(rows.map((r) => rate(r.carve, r.changes))))} | ${Math.round(median(rows.map((r) => rate(r.native, r.changes))))} | ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}) | ${Math.round(Math.max(...rows.map((r) => r.carve.rssKb)) / 1024)} MB max | | |`,
  );
}

function describeRound(r: { changes: number; carve: ToolRun; native: ToolRun }): string {
  const c = r.carve;
  const n = r.native;
  return (
    `carve ${Math.round(r.changes / c.seconds)} changes/s (${c.seconds.toFixed(2)} s, peak RSS ${Math.round(c.rssKb / 1024)} MB, ` +
    `CPU s node ${c.cpu.client.toFixed(1)} backend ${c.cpu.apply.toFixed(1)} walsender ${c.cpu.walsender.toFixed(1)}), ` +
    `native ${Math.round(r.changes / n.seconds)} changes/s (${n.seconds.toFixed(2)} s, CPU s apply ${n.cpu.apply.toFixed(1)} walsender ${n.cpu.walsender.toFixed(1)}), ` +
    `ratio ${(n.seconds / c.seconds).toFixed(2)}`
  );
}

async function steady(s: Setup): Promise<void> {
  log(`\nsteady state: ${STEADY_RATE} changes/s for ${STEADY_SECONDS} s`);
  await prepareRound(s);
  const latencies: number[] = [];
  const engine = await startSync({
    routing: s.routing,
    recordLatency: true,
    onEvent: (e) => {
      if (e.type === 'batch-applied' && e.latenciesMs) latencies.push(...e.latenciesMs);
    },
  });
  const writer = await connect(s.monolith);
  const perTxn = 4;
  const txnsPerSecond = STEADY_RATE / perTxn;
  const started = Date.now();
  let sent = 0;
  try {
    while (Date.now() - started < STEADY_SECONDS * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * txnsPerSecond);
      while (sent < due) await writer.query(steadyTransaction(sent++, 50_000_000 + sent));
      await new Promise((r) => setTimeout(r, 5));
    }
    await engine.waitForCatchUp();
  } finally {
    await writer.end();
    await engine.stop();
  }
  const sorted = latencies.sort((a, b) => a - b);
  const seconds = (Date.now() - started) / 1000;
  log(`| transactions | changes/s written | p50 lag | p99 lag | max lag |`);
  log(`|---|---|---|---|---|`);
  log(
    `| ${sorted.length} | ${Math.round((sent * perTxn) / seconds)} | ${percentile(sorted, 50)} ms | ${percentile(sorted, 99)} ms | ${sorted.at(-1)} ms |`,
  );
}

const s = await setup();
try {
  const names = ['shared_buffers', 'fsync', 'synchronous_commit', 'max_wal_size', 'wal_level'];
  const settings: string[] = [];
  for (const name of names)
    settings.push(
      `${name}=${(await query<{ v: string }>(s.monolith, `SELECT current_setting($1) AS v`, [name]))[0]!.v}`,
    );
  log(`settings (both clusters): ${settings.join(', ')}`);
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src/sync', 'bench/sync.ts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).stdout.trim();
  log(
    `commit ${commit}${dirty ? ' (+ uncommitted sync changes)' : ''}, ${new Date().toISOString()}, CHANGES=${CHANGES} ROUNDS=${ROUNDS} MIX=${MIX}${SPLIT ? ` SPLIT=${NINE ? 9 : 1} (` + Object.keys(SERVICES).join(', ') + ')' : ''}`,
  );
  if (!process.env.SKIP_CATCHUP) await catchUp(s);
  if (!process.env.SKIP_STEADY) await steady(s);
} finally {
  await Promise.all([s.source.destroy(), s.target.destroy()]);
}
