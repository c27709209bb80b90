import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, useCluster } from '../support/cluster.js';

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
const carve = join(repoRoot, 'bin', 'carve.js');
const cluster = await useCluster({ name: 'demo-cli' });
let url: string;

function run(args: string[]) {
  return spawnSync(process.execPath, [carve, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('carve demo (subprocess)', () => {
  it('seeds with --json: one line per event, then the report; refuses a second seed', async () => {
    url = await createDatabase(cluster, 'cli_seed');
    const result = run(['demo', 'seed', '--source', url, '--scale', '0.001', '--seed', '5', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const events = lines(result.stdout);
    expect(events.filter((e) => e.type === 'table-done')).toHaveLength(58);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    const report = events.at(-1)! as {
      type: string;
      report: { totalRows: number; seed: number; databaseBytes: number };
    };
    expect(report.type).toBe('report');
    expect(report.report.seed).toBe(5);
    expect(report.report.totalRows).toBeGreaterThan(80_000);

    const again = run(['demo', 'seed', '--source', url, '--scale', '0.001']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('DEMO_SCHEMA_EXISTS');
    const bad = run(['demo', 'seed', '--source', url, '--scale', '-1']);
    expect(bad.status).toBe(2);

    // The load runs against it for a short, bounded time, with a summary on stdout.
    const load = run([
      'demo',
      'load',
      '--source',
      url,
      '--rate',
      '20',
      '--duration',
      '2s',
      '--connections',
      '2',
    ]);
    expect(load.status, load.stderr).toBe(0);
    expect(load.stdout).toMatch(/duration: 40 transactions/);
    expect(load.stdout).toContain('errors: none');
  });

  it('load --json reports each second and stops cleanly on SIGINT (on the database seeded above)', async () => {
    const child = spawn(
      process.execPath,
      [carve, 'demo', 'load', '--source', url, '--rate', '30', '--duration', '5m', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += String(d);
        // A stats line once some transactions committed (the first may come before the start).
        if (/"type":"stats"[^\n]*"committed":[1-9]/.test(stdout)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    const events = lines(stdout);
    const report = events.at(-1)!;
    expect(report.type).toBe('report');
    expect(report.reason).toBe('stopped');
    expect(report.inFlight).toBe(0);
    expect(report.committed as number).toBeGreaterThan(0);
    expect(report.failed).toBe(0);
  });
});
