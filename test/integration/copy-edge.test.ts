import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { CopyEvent } from '../../src/copy/events.js';
import { withClient } from '../../src/pg/connect.js';
import type { Routing } from '../../src/routing/model.js';
import { CopyLog } from '../../src/state/copy-log.js';
import { ensureStateSchema } from '../../src/state/state-schema.js';
import { edgeCasePlanYaml } from '../fixtures/edge-case-plan.js';
import { createEdgeCaseSchema, EVENTS_LEAVES, HOSTILE_TABLE } from '../fixtures/edge-case-schema.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';
import { differingRoutes } from '../support/route-checksums.js';

/** Enough rows that small chunks split every big table: integer keys, a uuid key, partitions. */
const MORE_ROWS = String.raw`
INSERT INTO "Sales"."Customers" ("Name", email, login, tags)
  SELECT 'customer ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'c' || g || '@example.com' END, 'login' || g, ARRAY['t' || (g % 5)]
    FROM generate_series(1, 3000) g;
INSERT INTO public."Order Items" (customer_id, category_id, status, amount, quantity, unit_price, notes)
  SELECT 1 + g % 3000, 1 + g % 3, (ARRAY['new','paid','it''s shipped','Cancelled'])[1 + g % 4]::"Order Status",
         (g % 1000) / 10.0, 1 + g % 9, (g % 500) / 7.0, repeat('n', g % 40)
    FROM generate_series(1, 20000) g;
INSERT INTO public."x""; drop table y; --" (id, "weird col ""; --", payload, matrix)
  SELECT g, 'w' || g, jsonb_build_object('g', g, 'name', 'ü' || g), ARRAY[[g, g+1], [g+2, g+3]]
    FROM generate_series(3, 8000) g;
INSERT INTO public.events SELECT g, timestamptz '2024-01-01' + (g || ' hours')::interval, 'k' || (g % 7), jsonb_build_object('g', g)
  FROM generate_series(10, 16000) g;
INSERT INTO public.documents (title, body) SELECT 'doc ' || g, repeat(md5(g::text), 40) FROM generate_series(1, 2000) g;
ANALYZE;
`;

let source: LocalCluster;
let target: LocalCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([useCluster({ name: 'copy-src' }), useCluster({ name: 'copy-dst' })]);
});

async function edgeMonolith(name: string): Promise<string> {
  const url = await createDatabase(source, name);
  await withClient(url, async (c) => {
    await createEdgeCaseSchema(c);
    await c.query(MORE_ROWS);
  });
  return url;
}

/** The edge-case plan with its databases renamed, so each test gets fresh service databases. */
function planFor(sourceUrl: string, name: string): string {
  return edgeCasePlanYaml(sourceUrl, target.url(), { name })
    .replaceAll('sales_db', `${name}_sales`)
    .replaceAll('weird_db', `${name}_weird`)
    .replaceAll('reference_db', `${name}_reference`);
}

async function slotExists(url: string, slot: string): Promise<boolean> {
  return withClient(
    url,
    async (c) =>
      (await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount === 1,
  );
}

describe('carve copy on the edge-case monolith', () => {
  let routing: Routing;
  const events: CopyEvent[] = [];

  it('copies every route exactly: renames, drops, projections, partitions, hostile names, generated columns', async () => {
    const url = await edgeMonolith('edge_full');
    ({ routing } = await provisionMigration(url, planFor(url, 'edgefull')));
    const result = await runCopy(routing, { chunkBytes: 64 * 1024, jobs: 3, onEvent: (e) => events.push(e) });
    expect(result.complete).toBe(true);
    expect(result.failed).toEqual([]);
    expect(await differingRoutes(routing)).toEqual([]);

    // Small chunks split the big tables, by key where there is one integer key, else by blocks.
    const weird = routing.services.find((s) => s.name === 'weird')!;
    const chunks = await withClient(weird.url, (c) =>
      new CopyLog(routing.names.stateSchema, routing.names.migration).chunks(c),
    );
    const methods = (table: string) =>
      new Set(chunks.filter((c) => c.routeId.endsWith(`.${table}`)).map((c) => c.method));
    expect(methods(HOSTILE_TABLE)).toEqual(new Set(['key']));
    expect(methods('documents')).toEqual(new Set(['ctid']));
    // The partitioned table is read partition by partition.
    expect(new Set(chunks.filter((c) => c.routeId.endsWith('.events')).map((c) => c.source.name))).toEqual(
      new Set(EVENTS_LEAVES),
    );
    expect(chunks.every((c) => c.status === 'done')).toBe(true);
    expect(chunks.filter((c) => c.routeId.endsWith(`.${HOSTILE_TABLE}`)).length).toBeGreaterThan(2);

    // One read fed the owner and its projection: Customers chunks carry both routes.
    const started = events.filter((e) => e.type === 'chunk-started');
    expect(started.some((e) => e.type === 'chunk-started' && e.routeIds.length === 2)).toBe(true);

    // After the load: secondary indexes, kept foreign keys, sequences past the copied maximum.
    const sales = routing.services.find((s) => s.name === 'sales')!;
    const post = await withClient(sales.url, async (c) => {
      const indexes = (
        await c.query(`SELECT indexname FROM pg_indexes WHERE indexname = 'Order Items by customer'`)
      ).rowCount;
      const fks = (await c.query(`SELECT 1 FROM pg_constraint WHERE contype = 'f'`)).rowCount;
      const seq = (
        await c.query(`SELECT last_value::bigint AS v FROM pg_sequences WHERE sequencename = 'ticket_seq'`)
      ).rows[0];
      const maxTicket = (await c.query(`SELECT max(ticket)::bigint AS m FROM "Order Items"`)).rows[0];
      const identity = await c.query(
        `SELECT last_value::bigint AS v FROM pg_sequences WHERE sequencename LIKE 'Customers%'`,
      );
      return { indexes, fks, seq: seq?.v, maxTicket: maxTicket.m, identity: identity.rows[0]?.v };
    });
    expect(post.indexes).toBe(1);
    expect(post.fks).toBeGreaterThan(0);
    expect(BigInt(post.seq)).toBeGreaterThanOrEqual(BigInt(post.maxTicket));
    expect(BigInt(post.identity)).toBeGreaterThanOrEqual(3003n);
    const finished = events.filter((e) => e.type === 'post-load-done');
    expect(finished).toHaveLength(routing.services.length);
  });

  it('refuses a second copy without --resume, and with --resume says it is already complete', async () => {
    await expect(runCopy(routing)).rejects.toMatchObject({ code: 'COPY_ALREADY_STARTED' });
    const again = await runCopy(routing, { resume: true });
    expect(again).toMatchObject({ complete: true, mode: 'already-complete' });
    expect(await differingRoutes(routing)).toEqual([]);
  });

  it('refuses, before writing anything, a target that already holds rows, and a slot it does not know', async () => {
    const url = await edgeMonolith('edge_refuse');
    const { routing: r } = await provisionMigration(url, planFor(url, 'edgerefuse'));
    const sales = r.services.find((s) => s.name === 'sales')!;
    await withClient(sales.url, (c) =>
      c.query(`INSERT INTO "Sales"."Customers" ("Name", login) VALUES ('stray', 'stray')`),
    );
    const notEmpty = (await runCopy(r).catch((e: unknown) => e)) as { code: string; hint: string };
    expect(notEmpty.code).toBe('COPY_TARGET_NOT_EMPTY');
    expect(notEmpty.hint).toContain('Empty the tables named (TRUNCATE)');
    // No copy is recorded, so --resume does not take these rows either (the hint says so).
    await expect(runCopy(r, { resume: true })).rejects.toMatchObject({ code: 'COPY_TARGET_NOT_EMPTY' });
    expect(await slotExists(url, r.names.slot)).toBe(false);
    const stateTables = await withClient(
      sales.url,
      async (c) => (await c.query(`SELECT to_regclass('carve.migrations') AS t`)).rows[0].t,
    );
    expect(stateTables).toBeNull();
    // The hint, followed: the table emptied. (A slot is planted next, so the copy meets that
    // refusal, which comes after the emptiness check; the --resume below then copies everything.)
    await withClient(sales.url, (c) => c.query(`TRUNCATE "Sales"."Customers" CASCADE`));

    await withClient(url, (c) =>
      c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [r.names.slot]),
    );
    await expect(runCopy(r)).rejects.toMatchObject({
      code: 'COPY_SLOT_EXISTS',
      details: { slot: r.names.slot },
    });
    // With --resume and empty targets, a slot carve copy did not claim (another tool's, under the
    // same name) is refused and left alone.
    const foreign = (await runCopy(r, { resume: true }).catch((e: unknown) => e)) as {
      code: string;
      hint: string;
      details: { doubts: string[] };
    };
    expect(foreign).toMatchObject({ code: 'COPY_SLOT_NOT_OURS', details: { slot: r.names.slot } });
    expect(foreign.details.doubts).toEqual(['no target records that carve copy was creating it']);
    expect(await slotExists(url, r.names.slot)).toBe(true);
    // The hint, followed: nothing uses it, so drop it as it says; carve copy then runs.
    const drop = /SELECT pg_drop_replication_slot\('[^']+'\)/.exec(foreign.hint)![0];
    await withClient(url, (c) => c.query(drop));
    expect(foreign.hint).toContain('run carve copy --plan');
    const copied = await runCopy(r);
    expect(copied.complete).toBe(true);
    expect(await differingRoutes(r)).toEqual([]);
  });

  it('with --resume and empty targets, recreates the slot carve copy claimed and created before it was killed', async () => {
    const url = await edgeMonolith('edge_leftover');
    const { routing: r } = await provisionMigration(url, planFor(url, 'edgeleftover'));
    // carve copy's own leftover: killed after claiming and creating the slot, before recording
    // the run. The claim, as copy writes it, then the slot: --resume recreates it and copies.
    const claim = await withClient(url, async (c) => {
      const { rows } = await c.query(
        'SELECT pg_current_wal_insert_lsn()::text AS lsn, current_database() AS database',
      );
      return { slot: r.names.slot, database: rows[0].database as string, claimedLsn: rows[0].lsn as string };
    });
    for (const service of r.services) {
      await withClient(service.url, async (c) => {
        await ensureStateSchema(c, r.names.stateSchema);
        await new CopyLog(r.names.stateSchema, r.names.migration).claimSlot(c, claim);
      });
    }
    await withClient(url, (c) =>
      c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [r.names.slot]),
    );
    const resumed = await runCopy(r, { resume: true });
    expect(resumed.complete).toBe(true);
    expect(await differingRoutes(r)).toEqual([]);
  });

  it('refuses a database that is not provisioned, and a second copy of the same migration at once', async () => {
    const url = await edgeMonolith('edge_lock');
    const { routing: r } = await provisionMigration(url, planFor(url, 'edgelock'));
    const ghost = structuredClone({ ...r, services: r.services.map((s) => ({ ...s })) }) as Routing;
    ghost.services[0]!.url = target.url('no_such_database');
    ghost.services[0]!.database = 'no_such_database';
    await expect(runCopy(ghost)).rejects.toMatchObject({
      code: 'TARGET_NOT_PROVISIONED',
      details: { database: 'no_such_database' },
    });

    const first = runCopy(r, { chunkBytes: 16 * 1024, jobs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(runCopy(r, { resume: true })).rejects.toMatchObject({ code: 'MIGRATION_LOCKED' });
    expect((await first).complete).toBe(true);
  });

  it('reports a failing chunk with its table, bounds and SQLSTATE, finishes the rest, and --resume completes it', async () => {
    const url = await edgeMonolith('edge_fail');
    const { routing: r } = await provisionMigration(url, planFor(url, 'edgefail'));
    const weird = r.services.find((s) => s.name === 'weird')!;
    // A check the monolith does not have rejects one row of the hostile table.
    await withClient(weird.url, (c) =>
      c.query(`ALTER TABLE "x""; drop table y; --" ADD CONSTRAINT no_4242 CHECK (id <> 4242)`),
    );
    const events: CopyEvent[] = [];
    const result = await runCopy(r, { chunkBytes: 64 * 1024, onEvent: (e) => events.push(e) });
    expect(result.complete).toBe(false);
    expect(result.failed).toHaveLength(1);
    const failure = result.failed[0]!;
    expect(failure).toMatchObject({
      relation: { schema: 'public', name: HOSTILE_TABLE },
      method: 'key',
      sqlstate: '23514',
    });
    expect(BigInt(failure.lower ?? '-9999999')).toBeLessThanOrEqual(4242n);
    expect(failure.upper === null || BigInt(failure.upper) > 4242n).toBe(true);
    expect(events.some((e) => e.type === 'post-load-started')).toBe(false);
    // Every other route is complete.
    const differing = await differingRoutes(r);
    expect(differing).toHaveLength(1);
    expect(differing[0]).toContain(HOSTILE_TABLE);

    await withClient(weird.url, (c) =>
      c.query(`ALTER TABLE "x""; drop table y; --" DROP CONSTRAINT no_4242`),
    );
    const resumed = await runCopy(r, { resume: true });
    expect(resumed).toMatchObject({ complete: true, mode: 'resume' });
    expect(await differingRoutes(r)).toEqual([]);
  });
});

describe('carve copy preflight', () => {
  it('refuses a monolith without wal_level=logical before creating anything', async () => {
    const plain = await useCluster({ name: 'copy-replica', settings: { wal_level: 'replica' } });
    const url = await createDatabase(plain, 'mono');
    await withClient(url, (c) => createEdgeCaseSchema(c));
    const { routing: r } = await provisionMigration(url, planFor(url, 'edgewal'));
    await expect(runCopy(r)).rejects.toMatchObject({
      code: 'SOURCE_WAL_LEVEL',
      details: { walLevel: 'replica' },
    });
    expect(
      await withClient(
        url,
        async (c) => (await c.query('SELECT count(*)::int AS n FROM pg_publication')).rows[0].n,
      ),
    ).toBe(0);
  });
});
