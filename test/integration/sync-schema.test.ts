import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { readMigrationStatus } from '../../src/migrate/status.js';
import { renderStatus } from '../../src/cli/status.js';
import { startSync } from '../../src/sync/index.js';
import type { SyncEvent } from '../../src/sync/events.js';
import { SyncState } from '../../src/sync/state.js';
import { waitFor } from '../support/cluster.js';
import { introspect } from '../../src/catalog/introspect.js';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing } from '../../src/routing/model.js';
import { startOrdersLoad } from '../support/orders-load.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

let clusters: Awaited<ReturnType<typeof useMigrationClusters>>;

async function migration(name: string, schemaChanges?: string, copied = true): Promise<Migration> {
  const m = await prepareMigration(clusters, {
    name,
    monolithSql: `CREATE TABLE "Orders" (id int PRIMARY KEY, item text NOT NULL, qty int);
                  INSERT INTO "Orders" SELECT g, 'i' || g, g FROM generate_series(1, 50) g;`,
    planBody: `${schemaChanges ? `schema_changes: ${schemaChanges}\n` : ''}services:
  shop:
    database: ${name}_shop
    tables:
      Orders:
  stats:
    database: ${name}_stats
    tables: {}
projections:
  - from: Orders
    to: stats.order_qty
    columns: [id, qty]
`,
  });
  if (copied) await runCopy(m.routing);
  return m;
}

async function appliedLsn(m: Migration, database: string): Promise<bigint> {
  const state = new SyncState(m.routing.names.stateSchema, m.routing.names.migration);
  return withClient(
    m.routing.services.find((s) => s.database === database)!.url,
    async (c) => (await state.readPosition(c)).lsn,
  );
}

beforeAll(async () => {
  clusters = await useMigrationClusters('sync-schema');
});

describe('carve sync refuses to start', () => {
  it('before the copy (SYNC_NOT_COPIED), without its slot (SYNC_SLOT_MISSING), and twice (MIGRATION_LOCKED)', async () => {
    const m = await migration('refuse', undefined, false);
    await expect(startSync({ routing: m.routing })).rejects.toMatchObject({
      code: 'SYNC_NOT_COPIED',
      details: { database: 'refuse_shop' },
    });
    await runCopy(m.routing);
    const first = await startSync({ routing: m.routing });
    await expect(startSync({ routing: m.routing, lockWaitMs: 0 })).rejects.toMatchObject({
      code: 'MIGRATION_LOCKED',
    });
    await first.stop();
    await withClient(m.sourceUrl, (c) =>
      c.query('SELECT pg_drop_replication_slot($1)', [m.routing.names.slot]),
    );
    await expect(startSync({ routing: m.routing })).rejects.toMatchObject({
      code: 'SYNC_SLOT_MISSING',
      details: { slot: m.routing.names.slot },
    });
  });
});

describe('schema changes on the monolith', () => {
  it('stop the stream with an error naming table and column when a column is added (schema_changes: stop)', async () => {
    const m = await migration('addstop', 'stop');
    const engine = await startSync({ routing: m.routing });
    await withClient(m.sourceUrl, (c) => c.query(`INSERT INTO "Orders" VALUES (100, 'before', 1)`));
    await engine.waitForCatchUp();
    const before = await appliedLsn(m, 'addstop_shop');
    await withClient(m.sourceUrl, (c) =>
      c.query(
        `ALTER TABLE "Orders" ADD COLUMN note text; INSERT INTO "Orders" VALUES (101, 'after', 1, 'n')`,
      ),
    );
    await expect(engine.done).rejects.toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
      details: { table: 'public.Orders', column: 'note', change: 'column-added' },
      hint: expect.stringContaining('carve resync --plan'),
    });
    expect(await appliedLsn(m, 'addstop_shop')).toBe(before);
    // Run again: still refused, nothing applied past the change.
    await expect(startSync({ routing: m.routing }).then((e) => e.done)).rejects.toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
    });
  });

  it('stop when a routed column is dropped, naming it', async () => {
    const m = await migration('dropstop');
    const engine = await startSync({ routing: m.routing });
    await withClient(m.sourceUrl, (c) =>
      c.query(`ALTER TABLE "Orders" DROP COLUMN qty; UPDATE "Orders" SET item = 'x' WHERE id = 1`),
    );
    await expect(engine.done).rejects.toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
      details: { table: 'public.Orders', column: 'qty', change: 'column-dropped' },
    });
    // carve status, read later from the databases, says why sync stopped and what to do.
    const status = await readMigrationStatus(m.routing);
    expect(status.sync?.running).toBe(false);
    expect(status.sync?.lastError).toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
      message: expect.stringContaining('qty'),
      hint: expect.any(String),
    });
    expect(renderStatus(status)).toContain('last sync stopped at');
  });

  it('add a new nullable column to the owner and continue (schema_changes: add_nullable_columns, the older name of apply_compatible)', async () => {
    const m = await migration('addok', 'add_nullable_columns');
    const events: SyncEvent[] = [];
    const engine = await startSync({ routing: m.routing, onEvent: (e) => events.push(e) });
    try {
      await withClient(m.sourceUrl, (c) =>
        c.query(`ALTER TABLE "Orders" ADD COLUMN "Note" varchar(20); INSERT INTO "Orders" VALUES (101, 'after', 1, 'n1');
                 UPDATE "Orders" SET "Note" = 'n2', qty = 7 WHERE id = 2`),
      );
      await engine.waitForCatchUp();
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'column-added',
          database: 'addok_shop',
          column: 'Note',
          columnType: 'character varying(20)',
        }),
      );
      const shop = m.routing.services.find((s) => s.database === 'addok_shop')!.url;
      const rows = await withClient(
        shop,
        async (c) =>
          (await c.query(`SELECT id, "Note" FROM "Orders" WHERE id IN (1, 2, 101) ORDER BY id`)).rows,
      );
      expect(rows).toEqual([
        { id: 1, Note: null },
        { id: 2, Note: 'n2' },
        { id: 101, Note: 'n1' },
      ]);
      expect(await mismatchedRoutes(m.routing)).toEqual([]);
    } finally {
      await engine.stop();
    }
    // A restarted sync replays the same stream (the column exists now): no error, same rows.
    const restarted = await startSync({ routing: m.routing });
    await withClient(m.sourceUrl, (c) => c.query(`UPDATE "Orders" SET "Note" = 'n3' WHERE id = 3`));
    await restarted.waitForCatchUp();
    await restarted.stop();
    const shop = m.routing.services.find((s) => s.database === 'addok_shop')!.url;
    await waitFor(async () =>
      withClient(
        shop,
        async (c) => (await c.query(`SELECT "Note" FROM "Orders" WHERE id = 3`)).rows[0].Note === 'n3',
      ),
    );
  });
});

/** The routing as `carve sync` builds it now: from the plan and the monolith's current catalog. */
async function currentRouting(m: Migration): Promise<Routing> {
  const catalog = await withClient(m.sourceUrl, (c) => introspect(c));
  return withCarveLogins(buildRouting(parsePlan(m.planText, { env: {} }), catalog), {
    secretsDir: m.secretsDir,
  });
}

async function allColumnsMigration(name: string): Promise<Migration> {
  const m = await prepareMigration(clusters, {
    name,
    monolithSql: `CREATE TABLE "Orders" (id int PRIMARY KEY, item varchar(20) NOT NULL, qty int);
                  INSERT INTO "Orders" SELECT g, 'i' || g, g FROM generate_series(1, 50) g;`,
    planBody: `services:
  shop:
    database: ${name}_shop
    tables:
      Orders:
  stats:
    database: ${name}_stats
    tables: {}
projections:
  - from: Orders
    to: stats.order_qty
    columns: [id, qty]
  - from: Orders
    to: stats.orders_all
`,
  });
  await runCopy(m.routing);
  return m;
}

async function columnsOf(m: Migration, database: string, table: string): Promise<Record<string, string>> {
  const url = m.routing.services.find((s) => s.database === database)!.url;
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [`public."${table}"`],
    );
    return Object.fromEntries(rows.map((r) => [r.attname, r.type]));
  });
}

describe('compatible schema changes flow without operator action (schema_changes: apply_compatible, the default)', () => {
  it('new nullable and constant-default columns and widened types reach owner and all-column projections, under load, across a restart', async () => {
    const m = await allColumnsMigration('compat');
    let itemLength = 20;
    const load = startOrdersLoad(m.sourceUrl, { itemLength: () => itemLength });
    let engine = await startSync({ routing: m.routing });
    try {
      await waitFor(() => load.committed > 20);
      await withClient(m.sourceUrl, (c) =>
        c.query(`ALTER TABLE "Orders" ADD COLUMN note text;
                 ALTER TABLE "Orders" ADD COLUMN prio int NOT NULL DEFAULT 3;
                 ALTER TABLE "Orders" ALTER COLUMN item TYPE varchar(64);`),
      );
      itemLength = 64;
      await withClient(m.sourceUrl, (c) =>
        c.query(`UPDATE "Orders" SET note = 'n' || id, prio = 5 WHERE id % 7 = 0`),
      );
      await waitFor(() => load.committed > 60);
      // Stop sync, change more while it is down: its next run replays older Relations first.
      await engine.waitForCatchUp();
      await engine.stop();
      await waitFor(() => load.committed > 80);
      await withClient(m.sourceUrl, (c) =>
        c.query(`ALTER TABLE "Orders" ALTER COLUMN qty TYPE bigint;
                 ALTER TABLE "Orders" ALTER COLUMN item TYPE text;
                 ALTER TABLE "Orders" ADD COLUMN tag varchar(8) DEFAULT 'std';`),
      );
      itemLength = 100;
      await waitFor(() => load.committed > 110);
      engine = await startSync({ routing: await currentRouting(m) });
      await waitFor(() => load.committed > 140);
    } finally {
      await load.stop();
    }
    await engine.waitForCatchUp();
    await engine.stop();
    expect(await columnsOf(m, 'compat_shop', 'Orders')).toEqual({
      id: 'integer',
      item: 'text',
      qty: 'bigint',
      note: 'text',
      prio: 'integer',
      tag: 'character varying(8)',
    });
    expect(await columnsOf(m, 'compat_stats', 'orders_all')).toMatchObject({
      note: 'text',
      qty: 'bigint',
      tag: 'character varying(8)',
    });
    // A projection that lists its columns gets no new ones, but does get its columns widened.
    expect(await columnsOf(m, 'compat_stats', 'order_qty')).toEqual({ id: 'integer', qty: 'bigint' });
    expect(await mismatchedRoutes(await currentRouting(m))).toEqual([]);
  });
});
