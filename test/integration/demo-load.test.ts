import { beforeAll, describe, expect, it } from 'vitest';
import { CARESYNC_TABLES } from '../../src/demo/caresync-tables.js';
import { findOrphans } from '../../src/demo/find-orphans.js';
import { startLoad } from '../../src/demo/load/start-load.js';
import { OPERATION_KINDS } from '../../src/demo/load/load-types.js';
import { seedMonolith } from '../../src/demo/seed/seed-monolith.js';
import { isCarveError } from '../../src/errors.js';
import { withClient } from '../../src/pg/connect.js';
import { quoteQualified } from '../../src/pg/quote.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';

const cluster = await useCluster({ name: 'demo-load' });
let url: string;

async function counts(): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const out: Record<string, number> = {};
    for (const t of CARESYNC_TABLES) {
      out[t.name] = (
        await c.query(`SELECT count(*)::int AS n FROM ${quoteQualified('public', t.name)}`)
      ).rows[0].n;
    }
    return out;
  });
}

beforeAll(async () => {
  url = await createDatabase(cluster, 'caresync');
  await seedMonolith({ url, scale: 0.002 });
});

describe('demo load', () => {
  it('holds a modest target rate, keeps every key valid, and reports the rows it changed', async () => {
    const before = await counts();
    const report = await startLoad({ url, rate: 50, durationMs: 5_000, connections: 4, seed: 3 }).done;
    const after = await counts();

    expect(report.reason).toBe('duration');
    expect(report.errors).toEqual({});
    expect(report.failed).toBe(0);
    expect(report.dropped).toBe(0);
    expect(report.committed).toBe(250);
    expect(report.achievedRate).toBeGreaterThanOrEqual(45);
    expect(report.achievedRate).toBeLessThanOrEqual(55);
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    // A realistic mix: most kinds ran, and rows were inserted, updated and deleted.
    const ran = OPERATION_KINDS.filter((k) => report.byKind[k].transactions > 0);
    expect(ran.length).toBeGreaterThanOrEqual(12);
    expect(report.rows.inserted).toBeGreaterThan(200);
    expect(report.rows.updated).toBeGreaterThan(50);
    expect(report.rows.deleted).toBeGreaterThan(3);
    for (const t of [
      'patients',
      'consultations',
      'prescriptions',
      'lab_orders',
      'payments',
      'clinical_notes',
      'analytics_data',
    ]) {
      expect(report.byTable[t]?.inserted, t).toBeGreaterThan(0);
    }
    // The partitioned table is updated and deleted from too, across its partitions.
    expect(report.byTable.analytics_data).toMatchObject({
      updated: expect.any(Number),
      deleted: expect.any(Number),
    });
    expect(report.byTable.analytics_data!.updated).toBeGreaterThan(0);
    expect(report.byTable.analytics_data!.deleted).toBeGreaterThan(0);
    // Every table moved exactly as reported.
    for (const t of CARESYNC_TABLES) {
      const moved = report.byTable[t.name] ?? { inserted: 0, deleted: 0 };
      expect(after[t.name]! - before[t.name]!, t.name).toBe(moved.inserted - moved.deleted);
    }
    const orphans = await withClient(url, (c) => findOrphans(c));
    expect(orphans.filter((o) => o.orphans > 0)).toEqual([]);
  });

  it('stops on request with a clean final count, and reports it live before', async () => {
    const before = await counts();
    const handle = startLoad({ url, rate: 200, durationMs: 60_000, connections: 3 });
    await waitFor(() => handle.stats().committed >= 20, { what: 'some committed transactions' });
    expect(handle.stats().targetRate).toBe(200);
    const report = await handle.stop();
    expect(report.reason).toBe('stopped');
    expect(report.inFlight).toBe(0);
    expect(report.elapsedSeconds).toBeLessThan(30);
    expect(await handle.stop()).toEqual(report); // idempotent
    expect(await handle.done).toEqual(report);
    const after = await counts();
    for (const t of CARESYNC_TABLES) {
      const moved = report.byTable[t.name] ?? { inserted: 0, deleted: 0 };
      expect(after[t.name]! - before[t.name]!, t.name).toBe(moved.inserted - moved.deleted);
    }
  });

  it('chooses the same operations for the same seed, and others for another seed', async () => {
    const kinds = async (seed: number) => {
      const r = await startLoad({ url, rate: 1000, maxTransactions: 60, connections: 2, seed }).done;
      expect(r.reason).toBe('count');
      return Object.fromEntries(
        OPERATION_KINDS.map((k) => [k, r.byKind[k].transactions + r.byKind[k].failed]),
      );
    };
    const a = await kinds(11);
    expect(await kinds(11)).toEqual(a);
    expect(await kinds(12)).not.toEqual(a);
  });

  it('rejects bad options before connecting, and an unseeded database with a hint', async () => {
    let error: unknown;
    try {
      startLoad({ url, rate: 0 });
    } catch (e) {
      error = e;
    }
    expect(isCarveError(error, 'DEMO_LOAD_BAD_OPTIONS')).toBe(true);
    expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(2);
    // The hint's example options (bounded here by a transaction count) run.
    expect((error as { hint: string }).hint).toBe('E.g. --rate 100 --duration 60s --connections 4');
    const example = await startLoad({
      url,
      rate: 100,
      durationMs: 60_000,
      connections: 4,
      maxTransactions: 20,
    }).done;
    expect(example.reason).toBe('count');

    const empty = await createDatabase(cluster, 'empty');
    const failed = await startLoad({ url: empty, rate: 10, durationMs: 1000 }).done.catch((e: unknown) => e);
    expect(isCarveError(failed, 'DEMO_LOAD_NOT_SEEDED')).toBe(true);
    expect((failed as { hint: string }).hint).toContain('Seed');
    // Seeding the seeded monolith again is refused; its hint: seed into a new, empty database.
    const exists = await seedMonolith({ url, scale: 0.001 }).catch((e: unknown) => e);
    expect(isCarveError(exists, 'DEMO_SCHEMA_EXISTS')).toBe(true);
    expect((exists as { hint: string }).hint).toContain('Seed into a new, empty database');
    // Both hints, followed: the empty database seeded (at a smaller scale than the example's
    // 0.01, for time), then the load runs on it.
    await seedMonolith({ url: empty, scale: 0.001 });
    const loaded = await startLoad({ url: empty, rate: 100, connections: 2, maxTransactions: 20 }).done;
    expect(loaded.reason).toBe('count');
  }, 60_000);
});
