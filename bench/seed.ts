/**
 * How fast `carve demo seed` builds the CareSync monolith.
 *
 *   npm run bench:seed -- --scale 1
 *
 * Starts a fresh throwaway cluster (fsync=off and full_page_writes=off: this measures the
 * generator, not the disk; wal_level=logical as for a migration), seeds the given scale, and
 * records wall time, rows, rows/s, the phases and the database size. Prints a markdown table and
 * updates the "## Seed" section of bench/RESULTS.md (one row per scale, the newest run wins).
 *
 * Flags: --scale (1) --seed (1) --connections (2) --no-results
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from '../src/cluster/local-cluster.js';
import { seedMonolith, type SeedReport } from '../src/demo/seed/seed-monolith.js';
import { withClient } from '../src/pg/connect.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    connections: { type: 'string', default: '2' },
    'no-results': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

const repoRoot = join(new URL('.', import.meta.url).pathname, '..');
const resultsFile = join(repoRoot, 'bench', 'RESULTS.md');
const scale = Number(values.scale);
const seed = Number(values.seed);
const connections = Number(values.connections);
const command = `npm run bench:seed -- --scale ${values.scale}${values.seed === '1' ? '' : ` --seed ${values.seed}`}${values.connections === '2' ? '' : ` --connections ${values.connections}`}`;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const gb = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : mb(bytes));
const secs = (s: number | undefined) =>
  s === undefined
    ? '–'
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${s.toFixed(1)} s`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  // The code measured is the code at the start (others may commit while a long run goes on).
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const loadBefore = loadavg()[0]!;
  process.stderr.write(
    `bench:seed scale ${scale}: starting a throwaway cluster (fsync=off, full_page_writes=off)\n`,
  );
  const cluster = await startCluster({ name: 'bench-seed', fsync: false });
  let report: SeedReport;
  let version: string;
  try {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE caresync'));
    version = await withClient(
      cluster.url(),
      async (c) => (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v,
    );
    let lastPhase = '';
    report = await seedMonolith({
      url: cluster.url('caresync'),
      scale,
      seed,
      connections,
      onEvent: (e) => {
        if (e.type === 'table-done' && e.rows >= 100_000) {
          process.stderr.write(
            `  ${e.table}: ${count(e.rows)} rows, ${secs(e.seconds)}, ${count(e.rowsPerSecond)} rows/s\n`,
          );
        } else if (e.type === 'phase' && e.phase !== lastPhase) {
          lastPhase = e.phase;
          process.stderr.write(`${e.phase}…\n`);
        }
      },
    });
  } finally {
    await cluster.destroy();
  }
  const loadAfter = loadavg()[0]!;
  const date = new Date().toISOString().slice(0, 10);
  const p = report.phases;
  const row = [
    String(scale),
    date,
    commit,
    count(report.totalRows),
    secs(report.seconds),
    count(report.rowsPerSecond),
    gb(report.databaseBytes),
    `${secs(p.load)} / ${secs(p.indexes)} / ${secs(p['foreign-keys'])} / ${secs(p.analyze)}`,
    `${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    `\`${command}\``,
  ];
  const slowest = [...report.tables].sort((a, b) => b.seconds - a.seconds).slice(0, 8);
  const summary = [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    `| ${row.join(' | ')} |`,
    '',
    `Slowest tables: ${slowest.map((t) => `${t.table} ${count(t.rows)} rows ${secs(t.seconds)}`).join(', ')}.`,
  ].join('\n');
  process.stdout.write(`\n${summary}\n`);
  if (!values['no-results']) {
    writeSeedSection(row, version!);
    process.stderr.write(`updated the "## Seed" section of ${resultsFile}\n`);
  }
}

const HEADER = [
  'scale',
  'date',
  'commit',
  'rows',
  'wall time',
  'rows/s',
  'database size',
  'load / indexes / FKs / analyze',
  'load avg (1 min, before → after)',
  'command',
];
const HEADING = '## Seed';

/** Rewrite only the "## Seed" section: its runs table keeps one row per scale. */
function writeSeedSection(row: string[], version: string): void {
  const text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === HEADING);
  let end = lines.length;
  if (start !== -1) {
    for (let i = start + 1; i < lines.length; i++) {
      if (/^## /.test(lines[i]!)) {
        end = i;
        break;
      }
    }
  }
  const old = start === -1 ? [] : lines.slice(start, end);
  const rows = new Map<string, string>();
  for (const line of old) {
    const cells = line.split('|').map((c) => c.trim());
    if (line.startsWith('| ') && cells[1] && /^[0-9.]+$/.test(cells[1])) rows.set(cells[1], line);
  }
  rows.set(row[0]!, `| ${row.join(' | ')} |`);
  const sorted = [...rows.entries()].sort((a, b) => Number(a[0]) - Number(b[0])).map(([, l]) => l);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    HEADING,
    '',
    `\`carve demo seed\` building the CareSync monolith (58 tables) from nothing: a fresh throwaway cluster per run ` +
      `(PostgreSQL ${version}, fsync=off, full_page_writes=off, wal_level=logical; the seeding sessions use ` +
      `synchronous_commit=off, jit=off, maintenance_work_mem=256MB, default_toast_compression=lz4), ${connections} generating connections. ` +
      `Wall time covers schema, load, secondary indexes, foreign keys (validated), sequences and ANALYZE. ` +
      `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 1024 ** 3)} GB RAM, shared with other work ` +
      `(see the load average column).`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...sorted,
    '',
  ];
  const next =
    start === -1
      ? `${text.trimEnd()}\n\n${section.join('\n')}`
      : [...lines.slice(0, start), ...section, ...lines.slice(end)].join('\n');
  writeFileSync(resultsFile, `${next.trimEnd()}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:seed failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
