import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { startSync } from '../../src/sync/index.js';
import type { SyncEvent, TargetLag } from '../../src/sync/events.js';
import { readSyncStatus } from '../../src/sync/status.js';
import { waitFor } from '../support/cluster.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';

/**
 * Lag seconds mean the age of the oldest monolith commit a target has not applied (docs/sync.md):
 * not 0 for a target far behind whose backlog is still being decoded, and 0 for a caught-up
 * target on a monolith that writes only unrelated WAL — live (lag events) and as `carve status`
 * reads it from the databases, with and without a sync running.
 */
const MONOLITH = `
  CREATE TABLE docs (id bigint PRIMARY KEY, body text);
  CREATE TABLE unrelated (id bigserial PRIMARY KEY, note text);
  INSERT INTO docs SELECT g, 'd' || g FROM generate_series(1, 100) g;
`;
const PLAN = `
services:
  archive:
    database: archive_db
    tables:
      docs:
exclude: [unrelated]
`;

let m: Migration;

beforeAll(async () => {
  m = await prepareMigration(await useMigrationClusters('lag'), {
    name: 'lag',
    monolithSql: MONOLITH,
    planBody: PLAN,
  });
  await runCopy(m.routing);
  // One streamed transaction, so that the target records a commit time.
  await monolith(`UPDATE docs SET body = 'first' WHERE id = 1`);
  const engine = await startSync({ routing: m.routing, untilCaughtUp: true });
  await engine.done;
});

async function monolith(sql: string): Promise<void> {
  await withClient(m.sourceUrl, (c) => c.query(sql));
}

async function sourceNowMs(): Promise<number> {
  return withClient(m.sourceUrl, async (c) =>
    Number((await c.query(`SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms`)).rows[0].ms),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Unrelated WAL (a table not in the plan, a checkpoint): what an idle monolith still writes. */
async function unrelatedWal(): Promise<void> {
  await monolith(`INSERT INTO unrelated (note) SELECT repeat('x', 200) FROM generate_series(1, 2000)`);
  await monolith('CHECKPOINT');
}

describe('lag seconds', () => {
  it('a target ~40 MB behind is not shown 0: from the slot without sync, and while its backlog is decoded', async () => {
    // One large transaction: pgoutput sends nothing of it until its commit is decoded.
    const before = await sourceNowMs();
    await monolith(`INSERT INTO docs SELECT g, repeat(md5(g::text), 4) FROM generate_series(1000, 250000) g`);
    await sleep(3000);

    const stopped = (await readSyncStatus(m.routing)).targets[0]!;
    expect(stopped.lagBytes).toBeGreaterThan(30 * 1024 * 1024);
    expect(stopped.lagExact).toBe(true); // read from the slot: the commit time is known
    expect(stopped.lagSeconds).toBeGreaterThanOrEqual(2.5);
    expect(stopped.lagSeconds).toBeLessThanOrEqual((Date.now() - before) / 1000 + 1);

    const lags: TargetLag[] = [];
    const engine = await startSync({
      routing: m.routing,
      lagIntervalMs: 50,
      batch: { queueBytes: 256 * 1024 },
      onEvent: (e: SyncEvent) => {
        if (e.type === 'lag') lags.push(e.targets[0]!);
      },
    });
    try {
      await engine.waitForCatchUp();
    } finally {
      await engine.stop();
    }
    const farBehind = lags.filter((t) => t.lagBytes > 10 * 1024 * 1024);
    expect(farBehind.length).toBeGreaterThan(0);
    for (const t of farBehind) {
      expect(t.lagSeconds, JSON.stringify(t)).not.toBeNull();
      expect(t.lagSeconds!, JSON.stringify(t)).toBeGreaterThanOrEqual(2.5);
    }
  }, 180_000);

  it('a caught-up target on a monolith writing only unrelated WAL lags 0, with and without a running sync', async () => {
    await sleep(3000); // the last relevant commit is seconds old
    await unrelatedWal();
    const idle = (await readSyncStatus(m.routing)).targets[0]!;
    expect(idle.lagBytes).toBeGreaterThan(0);
    expect(idle).toMatchObject({ lagSeconds: 0, lagExact: true });

    const lags: TargetLag[] = [];
    const engine = await startSync({
      routing: m.routing,
      lagIntervalMs: 100,
      onEvent: (e: SyncEvent) => {
        if (e.type === 'lag') lags.push(e.targets[0]!);
      },
    });
    try {
      await engine.waitForCatchUp();
      await unrelatedWal();
      await sleep(500);
      const seen = lags.length;
      await waitFor(() => lags.length >= seen + 10, { what: 'lag events' });
      for (const t of lags.slice(seen))
        expect(t, JSON.stringify(t)).toMatchObject({ lagSeconds: 0, lagExact: true });
      // carve status while it runs: what the engine recorded.
      await waitFor(
        async () => {
          const t = (await readSyncStatus(m.routing)).targets[0]!;
          return t.lagSeconds === 0 && t.lagExact;
        },
        { what: 'status reads lag 0 from the running sync' },
      );
      // A relevant write: live lag becomes its age, and returns to 0 once applied.
      await monolith(`UPDATE docs SET body = 'again' WHERE id = 2`);
      await waitFor(
        async () =>
          await withClient(
            m.routing.services[0]!.url,
            async (c) => (await c.query(`SELECT body FROM docs WHERE id = 2`)).rows[0].body === 'again',
          ),
        { what: 'the update applied' },
      );
      const after = lags.length;
      await waitFor(() => lags.length >= after + 3, { what: 'lag events' });
      expect(lags.at(-1)).toMatchObject({ lagSeconds: 0, lagExact: true });
    } finally {
      await engine.stop();
    }
  }, 120_000);
});
