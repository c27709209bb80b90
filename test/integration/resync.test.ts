import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { parsePlan } from '../../src/plan/load.js';
import { resync } from '../../src/resync/index.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing } from '../../src/routing/model.js';
import { startSync } from '../../src/sync/index.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import { fails } from '../support/cli-errors.js';
import { waitFor } from '../support/cluster.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';
import { startOrdersLoad } from '../support/orders-load.js';

let clusters: Awaited<ReturnType<typeof useMigrationClusters>>;

beforeAll(async () => {
  clusters = await useMigrationClusters('resync');
});

async function migration(name: string, rows = 2000): Promise<Migration> {
  const m = await prepareMigration(clusters, {
    name,
    monolithSql: `CREATE TABLE "Orders" (id int PRIMARY KEY, item varchar(20) NOT NULL, qty int, note text);
                  INSERT INTO "Orders" SELECT g, 'i' || g, g, 'n' || g FROM generate_series(1, ${rows}) g;
                  CREATE TABLE other (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int);
                  INSERT INTO other OVERRIDING SYSTEM VALUE SELECT g, g FROM generate_series(1, 100) g;`,
    planBody: `services:
  shop:
    database: ${name}_shop
    tables:
      Orders:
      other:
  stats:
    database: ${name}_stats
    tables: {}
projections:
  - from: Orders
    to: stats.order_qty
    columns: [id, qty]
`,
  });
  await runCopy(m.routing);
  return m;
}

/** The routing as a carve command builds it now: from the plan and the monolith's current catalog. */
async function current(
  m: Migration,
): Promise<{ routing: Routing; catalog: Awaited<ReturnType<typeof introspect>> }> {
  const catalog = await withClient(m.sourceUrl, (c) => introspect(c));
  const routing = withCarveLogins(buildRouting(parsePlan(m.planText, { env: {} }), catalog), {
    secretsDir: m.secretsDir,
  });
  return { routing, catalog };
}

/** Writes to the other table too: it must keep streaming while Orders is re-copied. */
async function touchOther(m: Migration, n: number): Promise<void> {
  await withClient(m.sourceUrl, (c) => c.query(`UPDATE other SET v = v + 1 WHERE id = $1`, [1 + (n % 100)]));
}

describe('carve resync', () => {
  it('re-copies a table online under load while sync runs, and the copy plus the stream match the monolith', async () => {
    const m = await migration('online');
    const load = startOrdersLoad(m.sourceUrl);
    const engine = await startSync({ routing: m.routing });
    try {
      await waitFor(() => load.committed > 20);
      // Diverge the target on purpose: resync must repair it.
      const shop = m.routing.services.find((s) => s.database === 'online_shop')!.url;
      await withClient(shop, (c) =>
        c.query(`SET session_replication_role = replica; DELETE FROM "Orders" WHERE id <= 10`),
      );
      const { routing, catalog } = await current(m);
      const events: string[] = [];
      const result = await resync({
        routing,
        catalog,
        table: 'Orders',
        chunkRows: 150,
        onEvent: (e) => events.push(e.type),
      });
      expect(result).toMatchObject({
        table: 'public.Orders',
        routes: ['online_shop/public.Orders', 'online_stats/public.order_qty'],
      });
      expect(result.rows).toBeGreaterThan(4000);
      expect(events).toContain('resync-registered');
      expect(events.filter((e) => e === 'resync-chunk').length).toBeGreaterThan(10);
      await touchOther(m, 1);
      await waitFor(() => load.committed > result.rows / 100 + 40);
    } finally {
      await load.stop();
    }
    await engine.waitForCatchUp();
    await engine.stop();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('re-copies a table whose key is GENERATED ALWAYS AS IDENTITY, keeping the monolith keys', async () => {
    const m = await migration('identity', 200);
    const engine = await startSync({ routing: m.routing });
    try {
      // Diverge the target on purpose: resync must repair it with the monolith's keys.
      const shop = m.routing.services.find((s) => s.database === 'identity_shop')!.url;
      await withClient(shop, (c) =>
        c.query(`SET session_replication_role = replica; DELETE FROM other WHERE id > 90`),
      );
      const { routing, catalog } = await current(m);
      const result = await resync({ routing, catalog, table: 'public.other', chunkRows: 30 });
      expect(result).toMatchObject({ table: 'public.other', routes: ['identity_shop/public.other'] });
      await touchOther(m, 3);
      await engine.waitForCatchUp();
    } finally {
      await engine.stop();
    }
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('is the way out of an incompatible change: following the hint under load, with sync stopped and restarted', async () => {
    const m = await migration('dropcol');
    const load = startOrdersLoad(m.sourceUrl);
    const engine = await startSync({ routing: m.routing });
    let hint = '';
    try {
      await waitFor(() => load.committed > 20);
      await withClient(m.sourceUrl, (c) =>
        c.query(
          `ALTER TABLE "Orders" DROP COLUMN note; ALTER TABLE "Orders" ALTER COLUMN item TYPE varchar(30) USING upper(item)`,
        ),
      );
      const error = await engine.done.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({
        code: 'SYNC_SCHEMA_CHANGED',
        details: { table: 'public.Orders' },
        hint: expect.stringContaining('carve resync --plan'),
      });
      hint = (error as { hint: string }).hint;
      await waitFor(() => load.committed > 60);
      // Follow the hint literally: carve resync, then carve sync again.
      const { routing, catalog } = await current(m);
      const table = /--table (\S+)/.exec(hint)![1]!;
      await resync({ routing, catalog, table, chunkRows: 500 });
      await waitFor(() => load.committed > 100);
      const restarted = await startSync({ routing });
      await touchOther(m, 2);
      await waitFor(() => load.committed > 140);
      await load.stop();
      await restarted.waitForCatchUp();
      await restarted.stop();
      expect(await mismatchedRoutes(routing)).toEqual([]);
    } finally {
      await load.stop();
    }
  });

  it('gives up after --timeout while a transaction stays open on the monolith, naming it; ending it as the hint says and rerunning works', async () => {
    const m = await migration('longtxn', 500);
    const dir = mkdtempSync(join(tmpdir(), 'carve-resync-'));
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(planFile, m.planText);
    // An open transaction with an id: a new slot's snapshot waits for it to end.
    const open = await connect(m.sourceUrl, { applicationName: 'batch job' });
    open.on('error', () => {}); // terminated below, as the hint says
    await open.query('BEGIN');
    const pid = (await open.query('SELECT pg_backend_pid() AS pid, txid_current()')).rows[0].pid as number;
    const args = ['resync', '--plan', planFile, '--table', 'public.Orders', '--secrets-dir', m.secretsDir];
    const started = Date.now();
    const error = await fails([...args, '--timeout', '2s'], 'RESYNC_SNAPSHOT_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(error.details).toMatchObject({
      timeoutMs: 2000,
      blockers: [
        {
          pid,
          application: 'batch job',
          transactionSeconds: expect.any(Number),
          queryStart: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        },
      ],
    });
    expect(error.message).toContain(`pid ${pid}`);
    // Nothing re-created, nothing left waiting or behind on the monolith.
    const left = await withClient(m.sourceUrl, async (c) => ({
      slots: (
        await c.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'carve_resync%'`)
      ).rows,
      waiting: (
        await c.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'carve resync snapshot'`)
      ).rows,
    }));
    expect(left).toEqual({ slots: [], waiting: [] });
    // Follow the hint literally: end the transaction there, then run the command it names.
    const end = /SELECT pg_terminate_backend\(\d+\)/.exec(error.hint)![0];
    await withClient(m.sourceUrl, (c) => c.query(end));
    const rerun = /run carve (resync .+) again\.$/.exec(error.hint)![1]!.split(' ');
    const ok = await runCarve([...rerun, '--secrets-dir', m.secretsDir, '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('"type":"resync-result"');
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
  });

  it('converges after kill -9 at random points of carve resync: a rerun starts over at a new snapshot', async () => {
    const m = await migration('killed', 20_000);
    const dir = mkdtempSync(join(tmpdir(), 'carve-resync-'));
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(planFile, m.planText);
    const args = [
      'resync',
      '--plan',
      planFile,
      '--table',
      'public.Orders',
      '--secrets-dir',
      m.secretsDir,
      '--chunk-rows',
      '1000',
      '--json',
    ];
    const random = seededRandom(9);
    const load = startOrdersLoad(m.sourceUrl);
    const engine = await startSync({ routing: m.routing });
    try {
      // Kill points: after a random number of copied chunks (0: right after the registration),
      // or, once, while the CLI is still starting.
      const points = [-1, 0, ...Array.from({ length: 3 }, () => 1 + Math.floor(random() * 30))];
      for (const chunks of points) {
        const run = spawnCarve(args);
        let output = '';
        run.child.stdout!.on('data', (d) => (output += d));
        if (chunks < 0) await new Promise((r) => setTimeout(r, 300));
        else
          await waitFor(() => {
            const registered = output.includes('"resync-registered"');
            return registered && output.split('"resync-chunk"').length - 1 >= chunks;
          });
        run.child.kill('SIGKILL');
        const killed = await run.done;
        expect(killed.signal).toBe('SIGKILL');
        await touchOther(m, chunks);
      }
      const final = await runCarve(args);
      expect(final.code, final.stderr).toBe(0);
      expect(final.stdout).toContain('"type":"resync-result"');
      await waitFor(() => load.committed > 50);
    } finally {
      await load.stop();
    }
    await engine.waitForCatchUp();
    await engine.stop();
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
    // A temporary slot: nothing left behind on the monolith by the killed runs.
    const slots = await withClient(
      m.sourceUrl,
      async (c) =>
        (await c.query(`SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'carve_resync%'`))
          .rows,
    );
    expect(slots).toEqual([]);
  });
});
