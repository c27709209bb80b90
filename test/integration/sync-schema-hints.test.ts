import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/model.js';
import type { CarveError } from '../../src/errors.js';
import { withClient } from '../../src/pg/connect.js';
import { parsePlan } from '../../src/plan/load.js';
import { provision } from '../../src/provision/index.js';
import { resync } from '../../src/resync/index.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing } from '../../src/routing/model.js';
import type { SyncEvent } from '../../src/sync/events.js';
import { startSync } from '../../src/sync/index.js';
import { waitFor } from '../support/cluster.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';
import { startOrdersLoad, type OrdersLoad } from '../support/orders-load.js';

/**
 * Every hint of a schema-change stop, followed literally while a small write load runs: the
 * change stops sync with SYNC_SCHEMA_CHANGED (or SYNC_UNROUTED_TABLE), the test does what the hint
 * says, runs sync again, and the service databases match the monolith.
 */

let clusters: Awaited<ReturnType<typeof useMigrationClusters>>;

beforeAll(async () => {
  clusters = await useMigrationClusters('schema-hints');
});

/** Loads still writing when a test failed: stopped, so the clusters can go. */
const loads: OrdersLoad[] = [];
afterEach(async () => {
  await Promise.all(loads.splice(0).map((l) => l.stop()));
});

/**
 * `promise`, or a failure naming the step that did not finish and sync's last events (lag events
 * aside): a hang under a loaded machine then says where it is instead of only hitting the test's
 * timeout.
 */
async function step<T>(what: string, events: SyncEvent[], promise: Promise<T>, ms = 45_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = events.filter((e) => e.type !== 'lag').slice(-15);
      reject(new Error(`${what}: not done after ${ms} ms; sync's last events: ${JSON.stringify(last)}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function migration(name: string): Promise<Migration> {
  const m = await prepareMigration(clusters, {
    name,
    monolithSql: `CREATE TABLE "Orders" (id int PRIMARY KEY, item text NOT NULL, qty int, note text);
                  INSERT INTO "Orders" SELECT g, 'i' || g, g, 'n' || g FROM generate_series(1, 500) g;
                  CREATE TABLE other (id int PRIMARY KEY, v int);
                  INSERT INTO other SELECT g, g FROM generate_series(1, 100) g;`,
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

/** What a carve command reads now: the plan text given, resolved on the monolith's current catalog. */
async function current(
  m: Migration,
  planText = m.planText,
): Promise<{ routing: Routing; catalog: Catalog; planned: Routing }> {
  const catalog = await withClient(m.sourceUrl, (c) => introspect(c));
  const planned = buildRouting(parsePlan(planText, { env: {} }), catalog);
  return { routing: withCarveLogins(planned, { secretsDir: m.secretsDir }), catalog, planned };
}

/** Start sync and the load, run `ddl`, and return the error sync stopped with (the load keeps running). */
async function stopOn(m: Migration, ddl: string): Promise<{ error: CarveError; load: OrdersLoad }> {
  const load = startOrdersLoad(m.sourceUrl);
  loads.push(load);
  const events: SyncEvent[] = [];
  const engine = await step(
    'carve sync starting',
    events,
    startSync({ routing: m.routing, onEvent: (e) => events.push(e) }),
  );
  await waitFor(() => load.committed > 20);
  await step(
    'the schema change',
    events,
    withClient(m.sourceUrl, (c) => c.query(ddl)),
  );
  const error = await step(
    'sync stopping on the schema change',
    events,
    engine.done.then(
      () => null,
      (e: unknown) => e as CarveError,
    ),
  );
  expect(error).not.toBeNull();
  return { error: error!, load };
}

/** The resync command a hint names, run as the CLI would (routing from the current catalog). */
async function runHintedResync(m: Migration, hint: string | undefined, planText = m.planText): Promise<void> {
  const match = /carve resync --plan \S+ --table (\S+)/.exec(hint ?? '');
  expect(match, hint).not.toBeNull();
  const { routing, catalog } = await current(m, planText);
  await resync({ routing, catalog, table: match![1]!, chunkRows: 200 });
}

/** carve sync again (with the plan as it is now), under load, until caught up; then compare everything. */
async function syncAndCompare(m: Migration, load: OrdersLoad, planText = m.planText): Promise<void> {
  const { routing } = await current(m, planText);
  const events: SyncEvent[] = [];
  const engine = await step(
    'carve sync starting again',
    events,
    startSync({ routing, onEvent: (e) => events.push(e) }),
  );
  const start = load.committed;
  await waitFor(() => load.committed > start + 30);
  await load.stop();
  await withClient(m.sourceUrl, (c) => c.query(`UPDATE other SET v = v + 1 WHERE id = 1`));
  await step('sync catching up', events, engine.waitForCatchUp());
  await step('sync stopping', events, engine.stop());
  expect(await mismatchedRoutes(routing)).toEqual([]);
}

describe('schema-change hints work when followed literally, under load', () => {
  it('a column added with a volatile default (its rows were filled outside the stream): carve resync', async () => {
    const m = await migration('volatile');
    const { error, load } = await stopOn(
      m,
      `ALTER TABLE "Orders" ADD COLUMN created timestamptz NOT NULL DEFAULT clock_timestamp()`,
    );
    expect(error).toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
      details: { column: 'created', change: 'column-added' },
    });
    await runHintedResync(m, error.hint);
    await syncAndCompare(m, load);
  });

  it('a type narrowed (text → varchar(12)): carve resync', async () => {
    const m = await migration('narrow');
    const { error, load } = await stopOn(m, `ALTER TABLE "Orders" ALTER COLUMN item TYPE varchar(12)`);
    expect(error).toMatchObject({
      code: 'SYNC_SCHEMA_CHANGED',
      details: { column: 'item', change: 'type-changed' },
    });
    await runHintedResync(m, error.hint);
    await syncAndCompare(m, load);
  });

  it('a mapped column renamed: carve resync', async () => {
    const m = await migration('rencol');
    const { error, load } = await stopOn(m, `ALTER TABLE "Orders" RENAME COLUMN note TO remark`);
    expect(error).toMatchObject({ code: 'SYNC_SCHEMA_CHANGED', details: { table: 'public.Orders' } });
    await runHintedResync(m, error.hint);
    await syncAndCompare(m, load);
  });

  it('a table renamed: rename it back, then carve sync', async () => {
    const m = await migration('rentab');
    const { error, load } = await stopOn(
      m,
      // The first statement makes sync meet the table under its old name first.
      `UPDATE other SET v = v + 1 WHERE id = 7; SELECT pg_sleep(1.5);
       ALTER TABLE other RENAME TO other2; UPDATE other2 SET v = v + 1 WHERE id < 5`,
    );
    expect(error).toMatchObject({ code: 'SYNC_SCHEMA_CHANGED', details: { change: 'table-renamed' } });
    const back = /\(ALTER TABLE .+? RENAME TO .+?\)/.exec(error.hint ?? '')![0].slice(1, -1);
    await step(
      'renaming it back',
      [],
      withClient(m.sourceUrl, (c) => c.query(back)),
    );
    await syncAndCompare(m, load);
  });

  it('a new table in the publication, left on the monolith: exclude it in the plan, then carve sync', async () => {
    const m = await migration('newexcl');
    const { error, load } = await stopOn(
      m,
      `CREATE TABLE extra (id int PRIMARY KEY, v int);
       ALTER PUBLICATION ${m.routing.names.publication} ADD TABLE extra;
       INSERT INTO extra VALUES (1, 1)`,
    );
    expect(error).toMatchObject({ code: 'SYNC_UNROUTED_TABLE', details: { table: 'public.extra' } });
    expect(error.hint).toContain('exclude:');
    await syncAndCompare(m, load, `${m.planText}exclude:\n  - extra\n`);
  });

  it('a new table in the publication, to be moved: place it, carve provision, carve resync, carve sync', async () => {
    const m = await migration('newmove');
    const { error, load } = await stopOn(
      m,
      `CREATE TABLE extra (id int PRIMARY KEY, v int);
       INSERT INTO extra SELECT g, g FROM generate_series(1, 300) g;
       ALTER PUBLICATION ${m.routing.names.publication} ADD TABLE extra;
       UPDATE extra SET v = v + 1 WHERE id < 10`,
    );
    expect(error).toMatchObject({ code: 'SYNC_UNROUTED_TABLE' });
    const planText = m.planText.replace('      other:\n', '      other:\n      extra:\n');
    const { catalog, planned } = await current(m, planText);
    await provision(catalog, planned, { secretsDir: m.secretsDir });
    await runHintedResync(m, error.hint, planText);
    await withClient(m.sourceUrl, (c) => c.query(`UPDATE extra SET v = v + 1 WHERE id > 290`));
    await syncAndCompare(m, load, planText);
  });
});
