import { describe, expect, it } from 'vitest';
import { runCarve } from '../support/carve-cli.js';

/** `carve demo` end to end, as a new user runs it, at a tiny scale. */
describe('carve demo', () => {
  it('migrates CareSync under a live write load and reports 100% match and no orphans', async () => {
    const run = await runCarve(['demo', '--scale', '0.001', '--rate', '30', '--json']);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const lines = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const started = lines.find((l) => l.type === 'clusters-started');
    const finished = lines.find((l) => l.type === 'demo-finished');
    expect(finished).toBeDefined();
    const { report, load } = finished;

    // Writes ran during the migration, and were streamed into the service databases.
    expect(load.committed).toBeGreaterThan(10);
    expect(load.rows.inserted + load.rows.updated + load.rows.deleted).toBeGreaterThan(10);
    expect(report.sync.changes).toBeGreaterThan(0);
    // Including the partitioned analytics_data: inserts, updates (some moving a row to another
    // partition) and deletes across its partitions.
    expect(load.byTable.analytics_data).toMatchObject({
      inserted: expect.any(Number),
      updated: expect.any(Number),
      deleted: expect.any(Number),
    });
    expect(Math.min(...Object.values(load.byTable.analytics_data as Record<string, number>))).toBeGreaterThan(
      0,
    );
    expect(lines.findIndex((l) => l.type === 'load-started')).toBeLessThan(
      lines.findIndex((l) => l.type === 'step-started' && l.step === 'copy'),
    );

    // The plan's success criteria.
    expect(report.ok).toBe(true);
    expect(report.verify.tables.length).toBeGreaterThanOrEqual(61); // 57 tables + 4 projections
    expect(report.verify.tables.filter((t: { status: string }) => t.status !== 'ok')).toEqual([]);
    expect(new Set(report.verify.tables.map((t: { database: string }) => t.database)).size).toBe(9);
    expect(report.verify.foreignKeys.filter((fk: { status: string }) => fk.status === 'orphans')).toEqual([]);
    expect(report.verify.foreignKeys.length).toBeGreaterThan(40);
    expect(report.peakRssBytes).toBeGreaterThan(0);

    // Everything it started is gone.
    expect(lines.some((l) => l.type === 'cleaned-up')).toBe(true);
    expect(started).toBeDefined();
  }, 300_000);
});
