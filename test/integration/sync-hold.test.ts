import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../../src/pg/lsn.js';
import { createSlotWithSnapshot, dropSlot } from '../../src/pg/replication/slot.js';
import { requestHold } from '../../src/sync/hold-request.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { waitFor } from '../support/cluster.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

const MONOLITH = `
  CREATE TABLE ticks (id int PRIMARY KEY, label text NOT NULL);
  INSERT INTO ticks SELECT g, 'seed' FROM generate_series(1, 10) g;
`;
const PLAN = `
services:
  clock:
    database: clock_db
    tables:
      ticks:
  mirror:
    database: mirror_db
    tables: {}
projections:
  - from: ticks
    to: mirror.tick_ids
    columns: [id]
`;

let m: Migration;
let engine: SyncEngine;
let nextId = 1000;

/** One tick per transaction until stopped, so a hold point splits them cleanly. */
function ticker(): { stop(): Promise<number> } {
  let stopping = false;
  const loop = (async () => {
    const c = await connect(m.sourceUrl);
    let n = 0;
    while (!stopping) {
      await c.query('INSERT INTO ticks VALUES ($1, $2)', [nextId++, 'tick']);
      n++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await c.end();
    return n;
  })();
  return {
    async stop() {
      stopping = true;
      return loop;
    },
  };
}

async function ids(database: string, table: string): Promise<number[]> {
  const url = m.routing.services.find((s) => s.database === database)!.url;
  return withClient(url, async (c) =>
    (await c.query(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => Number(r.id)),
  );
}

/**
 * A hold point whose monolith state is known exactly: the consistent point of a new slot and the
 * ids its exported snapshot sees (how verify reads the monolith at a point).
 */
async function snapshotPoint(slot: string): Promise<{ lsn: Lsn; ids: number[] }> {
  const created = await createSlotWithSnapshot(m.sourceUrl, slot);
  try {
    const reader = await connect(m.sourceUrl);
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName}'`);
      const rows = (await reader.query('SELECT id FROM ticks ORDER BY id')).rows.map((r) => Number(r.id));
      await reader.query('COMMIT');
      return { lsn: created.consistentPoint, ids: rows };
    } finally {
      await reader.end();
    }
  } finally {
    await created.close();
    await dropSlot(m.sourceUrl, slot);
  }
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('sync-hold');
  m = await prepareMigration(clusters, { name: 'hold', monolithSql: MONOLITH, planBody: PLAN });
  await runCopy(m.routing);
  engine = await startSync({ routing: m.routing, holdPollMs: 100 });
});

afterAll(async () => {
  await engine?.stop();
});

describe('holds', () => {
  it('holdAt(lsn) applies every transaction before lsn and none after, while writes continue', async () => {
    for (let i = 0; i < 20; i++)
      await withClient(m.sourceUrl, (c) =>
        c.query('INSERT INTO ticks VALUES ($1, $2)', [nextId++, 'before']),
      );
    const expected = nextId - 1;
    const lsn = await withClient(m.sourceUrl, async (c) =>
      parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l),
    );
    const held = engine.holdAt(lsn);
    const writes = ticker();
    try {
      expect(await held).toBe(lsn);
      await waitFor(async () => (await ids('clock_db', 'ticks')).length >= 0 && nextId > expected + 30, {
        what: 'more writes',
      });
      const clock = await ids('clock_db', 'ticks');
      expect(clock.at(-1)).toBe(expected);
      expect(await ids('mirror_db', 'tick_ids')).toEqual(clock);
      expect(engine.status().every((t) => t.held && t.holdLsn === formatLsn(lsn))).toBe(true);
    } finally {
      engine.release();
      await writes.stop();
    }
    await engine.waitForCatchUp();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('holdAt(choose) stops exactly at a snapshot chosen while writes run', async () => {
    const writes = ticker();
    let point: { lsn: Lsn; ids: number[] } | undefined;
    try {
      await waitFor(() => nextId > 1200, { what: 'writes' });
      const lsn = await engine.holdAt(async () => (point = await snapshotPoint('hold_probe_a')).lsn);
      expect(lsn).toBe(point!.lsn);
      await waitFor(() => nextId > point!.ids.at(-1)! + 20, { what: 'writes past the point' });
      expect(await ids('clock_db', 'ticks')).toEqual(point!.ids);
      expect(await ids('mirror_db', 'tick_ids')).toEqual(point!.ids);
    } finally {
      engine.release();
      await writes.stop();
    }
    await engine.waitForCatchUp();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('holdAt(lsn) refuses a point some target already passed', async () => {
    await withClient(m.sourceUrl, (c) => c.query('INSERT INTO ticks VALUES ($1, $2)', [nextId++, 'x']));
    await engine.waitForCatchUp();
    await expect(engine.holdAt(parseLsn('0/1000'))).rejects.toMatchObject({ code: 'SYNC_HOLD_PASSED' });
  });

  it('honours a hold requested by another process through <state>.holds, and a deleted row releases it', async () => {
    const writes = ticker();
    let point: { lsn: Lsn; ids: number[] } | undefined;
    try {
      await waitFor(() => nextId > 1500, { what: 'writes' });
      const hold = await requestHold(m.routing, {
        requestedBy: 'sync-hold test',
        choose: async () => (point = await snapshotPoint('hold_probe_b')).lsn,
      });
      expect(hold.lsn).toBe(point!.lsn);
      await hold.reached({ timeoutMs: 30_000 });
      await waitFor(() => nextId > point!.ids.at(-1)! + 20, { what: 'writes past the point' });
      expect(await ids('clock_db', 'ticks')).toEqual(point!.ids);
      expect(await ids('mirror_db', 'tick_ids')).toEqual(point!.ids);
      await hold.release();
    } finally {
      await writes.stop();
    }
    await engine.waitForCatchUp();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('marks a table hold it cannot honour with an error instead of hanging', async () => {
    const stateTable = `"${m.routing.names.stateSchema}".holds`;
    for (const s of m.routing.services) {
      await withClient(s.url, (c) =>
        c.query(
          `INSERT INTO ${stateTable} (migration, hold_lsn, requested_by) VALUES ($1, '0/1000', 'naive')`,
          [m.routing.names.migration],
        ),
      );
    }
    await withClient(m.sourceUrl, (c) => c.query('INSERT INTO ticks VALUES ($1, $2)', [nextId++, 'x']));
    for (const s of m.routing.services) {
      const row = await waitFor(
        () =>
          withClient(
            s.url,
            async (c) =>
              (
                await c.query(
                  `SELECT error FROM ${stateTable} WHERE hold_lsn = '0/1000' AND error IS NOT NULL`,
                )
              ).rows[0],
          ),
        { what: `error on ${s.database}` },
      );
      expect(row.error).toMatch(/already applied/);
      await withClient(s.url, (c) => c.query(`DELETE FROM ${stateTable}`));
    }
    await engine.waitForCatchUp();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });
});
