import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/pg/connect.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import type { SyncEvent } from '../../src/sync/events.js';
import { waitFor } from '../support/cluster.js';
import {
  applyLogSql,
  COUNTER_MONOLITH,
  COUNTER_PLAN,
  doubleApplied,
  startCounterLoad,
  type CounterLoad,
} from '../support/counter-load.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

let m: Migration;
let engine: SyncEngine;
const events: SyncEvent[] = [];
const QUEUE_BYTES = 512 * 1024;

function reconnects(): number {
  return events.filter((e) => e.type === 'reconnecting').length;
}

/** Run `disturb` under write load, then stop the load and check the targets converge, once each. */
async function underLoad(disturb: (load: CounterLoad) => Promise<void>): Promise<void> {
  const load = startCounterLoad(m.sourceUrl, { largeEvery: 100, pauseMs: 2 });
  try {
    await waitFor(() => load.committed > 30, { what: 'load to start' });
    await disturb(load);
    const before = load.committed;
    await waitFor(() => load.committed > before + 30, {
      what: 'writes after the disturbance',
      timeoutMs: 60_000,
    });
  } finally {
    await load.stop();
  }
  await engine.waitForCatchUp();
  expect(await mismatchedRoutes(m.routing)).toEqual([]);
  for (const service of m.routing.services) expect(await doubleApplied(service.adminUrl)).toEqual([]);
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('sync-resilience');
  m = await prepareMigration(clusters, {
    name: 'resilience',
    monolithSql: COUNTER_MONOLITH,
    planBody: COUNTER_PLAN,
  });
  for (const service of m.routing.services) {
    for (const t of service.tables.filter((t) => ['accounts', 'account_owners'].includes(t.target.name))) {
      await withClient(service.adminUrl, (c) => c.query(applyLogSql(`public.${t.target.name}`)));
    }
  }
  await runCopy(m.routing);
  engine = await startSync({
    routing: m.routing,
    onEvent: (e) => events.push(e),
    reconnect: { initialMs: 100, maxMs: 1000 },
    batch: { queueBytes: QUEUE_BYTES },
    lagIntervalMs: 100,
  });
});

afterAll(async () => {
  await engine?.stop();
});

describe('carve sync keeps going', () => {
  it('when the walsender is terminated', async () => {
    const before = reconnects();
    await underLoad(async () => {
      await waitFor(
        async () =>
          withClient(m.sourceUrl, async (c) => {
            const { rows } = await c.query(
              `SELECT pg_terminate_backend(active_pid) AS done FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
              [m.routing.names.slot],
            );
            return rows[0]?.done === true;
          }),
        { what: 'an active walsender' },
      );
      await waitFor(() => reconnects() > before, { what: 'a reconnect' });
    });
  });

  it('when the monolith restarts', async () => {
    const before = reconnects();
    await underLoad(async () => {
      await m.source.restart('fast');
      await waitFor(() => reconnects() > before, { what: 'a reconnect' });
    });
  });

  it('when a target cluster crashes and comes back', async () => {
    const before = reconnects();
    await underLoad(async () => {
      await m.target.stopServer('immediate');
      await new Promise((r) => setTimeout(r, 1500)); // down for a while (several failed attempts)
      await m.target.startServer();
      await waitFor(() => reconnects() > before + 1, { what: 'reconnects' });
    });
  });

  it('when a target connection breaks while idle', async () => {
    // With no writes the appliers sit idle; a connection that dies then fails on its next query
    // with pg's "not queryable" error (no SQLSTATE), which must reconnect like any lost connection.
    await engine.waitForCatchUp();
    const before = reconnects();
    const ledger = m.routing.services.find((s) => s.database === 'ledger_db')!;
    await withClient(ledger.url, (c) =>
      c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      ),
    );
    await waitFor(() => reconnects() > before, { what: 'a reconnect after the idle connection broke' });
    expect(events.some((e) => e.type === 'sync-stopped')).toBe(false);
    await underLoad(async () => {});
  });

  it('applies backpressure to a blocked target instead of buffering', async () => {
    const ledger = m.routing.services.find((s) => s.database === 'ledger_db')!;
    const blocker = await connect(ledger.url);
    const peaks: number[] = [];
    try {
      await underLoad(async () => {
        await blocker.query('BEGIN; LOCK TABLE public.accounts IN ACCESS EXCLUSIVE MODE');
        // queueBytes is one budget for the queues of all targets together (queue-budget.ts).
        const queued = () => engine.status().reduce((sum, t) => sum + t.queuedBytes, 0);
        const wal = async () =>
          withClient(m.sourceUrl, async (c) =>
            BigInt((await c.query(`SELECT pg_current_wal_lsn() - '0/0' AS n`)).rows[0].n),
          );
        // Keep the target blocked while the monolith writes many times the queue's bound in WAL:
        // an unbounded queue would hold most of it.
        const start = await wal();
        await waitFor(
          async () => {
            peaks.push(queued());
            return (await wal()) - start >= BigInt(8 * QUEUE_BYTES);
          },
          { what: 'the monolith to write 8x the queue bound', timeoutMs: 90_000, intervalMs: 100 },
        );
        await blocker.query('COMMIT');
      });
    } finally {
      await blocker.end();
    }
    const peak = Math.max(...peaks);
    expect(peak).toBeLessThan(QUEUE_BYTES * 2); // bounded (one read batch of overshoot)
  });
});
