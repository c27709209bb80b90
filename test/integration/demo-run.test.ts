import { describe, expect, it } from 'vitest';
import { runCarve } from '../support/carve-cli.js';

/** `carve demo` end to end, as a new user runs it, at a tiny scale. */
describe('carve demo', () => {
  it('migrates CareSync under a live write load, cuts every service over, rolls one back and forward, completes, with no lost write', async () => {
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

    // The cutover phase: every service cut over under the service-routed load, patient rolled
    // back and cut over again, each with its write-unavailability window; then every one completed.
    const { cutover } = finished;
    expect(finished.ok).toBe(true);
    const steps = cutover.steps as {
      step: string;
      service: string;
      seconds: number;
      unavailableSeconds: number | null;
    }[];
    const services = new Set(report.verify.tables.map((t: { database: string }) => t.database)).size;
    expect(steps.filter((s) => s.step === 'cutover')).toHaveLength(services);
    expect(steps.map((s) => s.step).slice(services, services + 2)).toEqual(['rollback', 'cutover-again']);
    expect(steps.find((s) => s.step === 'rollback')!.service).toBe('patient');
    for (const s of steps.filter((x) => x.step !== 'complete')) {
      expect(s.unavailableSeconds, `${s.step} ${s.service}`).toBeGreaterThan(0);
      expect(s.unavailableSeconds!).toBeLessThan(30);
    }
    expect(cutover.completed).toHaveLength(services);
    expect(lines.filter((l) => l.type === 'cutover-phase' && l.event.type === 'completed')).toHaveLength(
      services,
    );
    // The load ran in every phase: writes in the monolith and in service databases, the rolled-back
    // service's tables routed back to the monolith at the rollback and forward again after.
    expect(cutover.load.committed).toBeGreaterThan(100);
    expect(Object.keys(cutover.load.databases).length).toBeGreaterThanOrEqual(services);
    const routed = lines.filter((l) => l.type === 'cutover-phase' && l.event.type === 'routed');
    expect(routed.filter((l) => l.event.service === 'patient').map((l) => l.event.to)).toEqual([
      'service',
      'monolith',
      'service',
    ]);
    // Only the freeze's fast refusals inside windows; no other error of an acknowledged write.
    expect(cutover.failedOther, JSON.stringify(cutover.load.errors)).toBe(0);
    expect(cutover.failedFrozen).toBe(cutover.load.errors.CV001 ?? 0);
    // Monolith foreign keys to rows just written in a service database were waited for, not failed.
    expect(cutover.load.retries).toEqual(expect.any(Object));
    // No lost acknowledged write: every table, monolith against services, after the load stopped
    // and both streams caught up (the rows of the cutover phase are in both).
    expect(cutover.verify.ok).toBe(true);
    expect(cutover.verify.tables.filter((t: { status: string }) => t.status !== 'ok')).toEqual([]);
    expect(cutover.verify.tables.length).toBe(report.verify.tables.length);
    expect(cutover.verify.foreignKeys.filter((fk: { status: string }) => fk.status === 'orphans')).toEqual(
      [],
    );

    // Everything it started is gone.
    expect(lines.some((l) => l.type === 'cleaned-up')).toBe(true);
    expect(started).toBeDefined();
  }, 300_000);
});
