/**
 * What snapshot reads (plan `events.snapshot: true`) cost the copy: `carve copy` of the same
 * monolith with and without them, timed as whole subprocesses under /usr/bin/time (CPU of the carve
 * process: user + system; wall time is noisy on a shared machine), medians over ROUNDS.
 *
 *   npm run build && npm run bench:snapshot
 *
 * Env: ROWS (default 300000 rows of ~200 bytes: bigint key, bigint, text, timestamptz, numeric,
 * jsonb), ROUNDS (default 3), JOBS (default 2).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../src/cluster/local-cluster.js';
import { startKafka } from '../src/cluster/local-kafka.js';
import { introspect } from '../src/catalog/introspect.js';
import { withClient } from '../src/pg/connect.js';
import { parsePlan } from '../src/plan/load.js';
import { provision } from '../src/provision/index.js';
import { buildRouting } from '../src/routing/build-routing.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
const outDir = join(here, 'out');
const ROWS = Number(process.env.ROWS ?? 300_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const JOBS = Number(process.env.JOBS ?? 2);
const SETTINGS = { shared_buffers: '256MB', max_wal_size: '4GB', wal_level: 'logical' };

async function timed(args: string[]): Promise<{ seconds: number; cpuSeconds: number; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-v', process.execPath, join(repoRoot, 'bin/carve.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`carve ${args.join(' ')} exited ${code}: ${stderr.slice(-3000)}`);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return { seconds, cpuSeconds: Number(user?.[1] ?? 0) + Number(system?.[1] ?? 0), stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const source = await startCluster({ name: 'bench-snap-src', settings: SETTINGS });
const target = await startCluster({ name: 'bench-snap-dst', settings: SETTINGS });
const kafka = await startKafka({ name: 'bench-snap', heapMb: 1024, jvmFlags: [] });
const results: { mode: string; seconds: number; cpuSeconds: number; events: number }[] = [];
try {
  const monolith = source.url('monolith');
  await withClient(source.url(), (c) => c.query('CREATE DATABASE monolith'));
  await withClient(monolith, (c) =>
    c.query(`CREATE TABLE visits (id bigint PRIMARY KEY, patient_id bigint NOT NULL, note text,
               at timestamptz, amount numeric(12,2), data jsonb);
             INSERT INTO visits SELECT g, g % 5000, repeat(md5(g::text), 2), timestamptz '2026-01-01' + g * interval '1 second',
               (g % 10000) / 7.0, jsonb_build_object('k', g, 's', md5(g::text))
               FROM generate_series(1, ${ROWS}) g;
             ANALYZE`),
  );
  const catalog = await withClient(monolith, (c) => introspect(c));
  mkdirSync(outDir, { recursive: true });
  for (let round = 1; round <= ROUNDS; round++) {
    for (const snapshot of [false, true]) {
      const name = `snap${snapshot ? 'on' : 'off'}${round}`;
      const text = `name: ${name}\nsource: ${monolith}\ntarget: ${target.url()}\nservices:\n  care:\n    database: ${name}_db\n    tables: { visits: {} }\nevents:\n  kafka: { brokers: ["${kafka.bootstrap}"], topic_prefix: ${name} }\n  schemas: false\n  snapshot: ${snapshot}\n`;
      const file = join(outDir, `${name}.yaml`);
      writeFileSync(file, text);
      const secretsDir = join(outDir, 'secrets');
      await provision(catalog, buildRouting(parsePlan(text, { env: {} }), catalog), { secretsDir });
      const run = await timed([
        'copy',
        '--plan',
        file,
        '--json',
        '--jobs',
        String(JOBS),
        '--secrets-dir',
        secretsDir,
      ]);
      const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { snapshotEvents?: number };
      const events = summary.snapshotEvents ?? 0;
      if (snapshot && events !== ROWS) throw new Error(`published ${events} reads, expected ${ROWS}`);
      results.push({
        mode: snapshot ? 'on' : 'off',
        seconds: run.seconds,
        cpuSeconds: run.cpuSeconds,
        events,
      });
      console.log(
        `round ${round} snapshot ${snapshot ? 'on ' : 'off'}: ${run.seconds.toFixed(1)} s wall, ${run.cpuSeconds.toFixed(1)} s carve CPU, ${events} reads`,
      );
      await withClient(monolith, (c) => c.query(`SELECT pg_drop_replication_slot($1)`, [`carve_${name}`]));
    }
  }
  for (const mode of ['off', 'on']) {
    const runs = results.filter((r) => r.mode === mode);
    const cpu = median(runs.map((r) => r.cpuSeconds));
    const wall = median(runs.map((r) => r.seconds));
    console.log(
      `snapshot ${mode}: median ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s carve CPU, ${Math.round(ROWS / cpu)} rows per carve CPU second`,
    );
  }
  writeFileSync(join(outDir, 'snapshot-events-results.json'), JSON.stringify(results, null, 2));
} finally {
  await kafka.destroy();
  await target.destroy();
  await source.destroy();
}
