import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { CopyEvent } from '../../src/copy/events.js';
import { readMigrationStatus } from '../../src/migrate/status.js';
import { introspect } from '../../src/catalog/introspect.js';
import { renderStatus } from '../../src/cli/status.js';
import { renderVerifySummary } from '../../src/cli/verify.js';
import { withClient } from '../../src/pg/connect.js';
import { parsePlan } from '../../src/plan/load.js';
import { provision } from '../../src/provision/index.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { summarizeRouting } from '../../src/routing/summarize.js';
import type { Routing } from '../../src/routing/model.js';
import { startSync } from '../../src/sync/index.js';
import { verify } from '../../src/verify/index.js';
import { edgeCasePlanYaml } from '../fixtures/edge-case-plan.js';
import { createEdgeCaseSchema } from '../fixtures/edge-case-schema.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';
import { startPartitionLoad } from '../support/partition-load.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * Partitioned tables under live writes: the edge-case monolith's public.events (a range level, a
 * sub-partitioned level, a DEFAULT leaf, and keys declared on single partitions) is written
 * in every leaf while it is copied and streamed. PostgreSQL 15's pgoutput sends a Relation
 * message for the leaf as well as for the root (publish_via_partition_root); the changes arrive
 * under the root.
 */
const MORE_ROWS = String.raw`
INSERT INTO public.events
  SELECT g, timestamptz '2024-01-01' + (g || ' hours')::interval,
         'k' || (g % 7), jsonb_build_object('g', g),
         CASE WHEN g < 8784 THEN 1 + g % 3 END, NULL
    FROM generate_series(10, 16000) g;
INSERT INTO public.event_notes SELECT g, g, timestamptz '2024-01-01' + (g || ' hours')::interval, 'n' || g
  FROM generate_series(10, 4000) g;
INSERT INTO public.documents (title, body) SELECT 'doc ' || g, repeat(md5(g::text), 4) FROM generate_series(1, 200) g;
ANALYZE;
`;

let source: LocalCluster;
let target: LocalCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'parts-src' }),
    useCluster({ name: 'parts-dst' }),
  ]);
});

async function edgeMigration(name: string) {
  const url = await createDatabase(source, name);
  await withClient(url, async (c) => {
    await createEdgeCaseSchema(c);
    await c.query(MORE_ROWS);
  });
  const plan = edgeCasePlanYaml(url, target.url(), { name })
    .replaceAll('sales_db', `${name}_sales`)
    .replaceAll('weird_db', `${name}_weird`)
    .replaceAll('reference_db', `${name}_reference`);
  const { routing } = await provisionMigration(url, plan);
  return { url, routing, plan };
}

/** The routing a command run now would build (it reads the monolith's catalog when it starts). */
async function currentRouting(url: string, plan: string): Promise<Routing> {
  const catalog = await withClient(url, (c) => introspect(c));
  return buildRouting(parsePlan(plan, { env: {} }), catalog);
}

const urlOf = (routing: Routing, service: string) => routing.services.find((s) => s.name === service)!.url;

async function rows<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql)).rows as T[]);
}

/** Partition-level objects of the weird service database, by kind. */
async function partitionObjects(url: string) {
  return {
    indexes: (
      await rows<{ name: string }>(
        url,
        `SELECT c.relname AS name FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
          WHERE x.indrelid IN ('public.events_2024'::regclass, 'public.events_default'::regclass, 'public.events_2025_h1'::regclass)
            AND NOT c.relispartition ORDER BY 1`,
      )
    ).map((r) => r.name),
    constraints: (
      await rows<{ name: string; on: string; validated: boolean }>(
        url,
        `SELECT conname AS name, conrelid::regclass::text AS on, convalidated AS validated FROM pg_constraint
          WHERE conrelid IN ('public.events_2024'::regclass, 'public.events_2025'::regclass,
                             'public.events_2025_h1'::regclass, 'public.event_notes'::regclass)
            AND contype IN ('c', 'f', 'u') AND conparentid = 0 ORDER BY 1`,
      )
    ).map((r) => `${r.on}.${r.name}${r.validated ? '' : ' NOT VALID'}`),
    notNull: (
      await rows<{ notnull: boolean }>(
        url,
        `SELECT attnotnull AS notnull FROM pg_attribute WHERE attrelid = 'public.events_default'::regclass AND attname = 'data'`,
      )
    )[0]!.notnull,
  };
}

describe('partitioned tables under live writes', () => {
  it('carve plan lists the keys declared on partitions as kept or cut', async () => {
    const { routing } = await edgeMigration('plist');
    const summary = summarizeRouting(routing);
    const weird = summary.databases.find((d) => d.service === 'weird')!;
    expect(weird.keptForeignKeys.map((k) => `${k.from} → ${k.to} ${k.name}`).sort()).toEqual([
      'public.event_notes → public.events event_notes_event_id_recorded_at_fkey',
      'public.event_notes → public.events_2024 event_notes_2024',
      'public.events_2025 → public.documents events_2025_document',
    ]);
    expect(summary.cutForeignKeys).toContainEqual({
      name: 'events_2024_category',
      from: { database: 'plist_weird', table: 'public.events_2024', columns: ['category_id'] },
      to: { database: 'plist_reference', table: 'public.categories', columns: ['id'] },
    });
    const events = weird.tables.find((t) => t.target === 'public.events')!;
    expect(events.partitionObjects).toEqual([
      'index events_2024_data on public.events_2024',
      'check events_2024_kind_set on public.events_2024',
      'unique events_2025_h1_id_key on public.events_2025_h1',
      'index events_default_late on public.events_default',
      'not null data on public.events_default',
    ]);
  });

  it('copies and streams writes to every partition; partition-level keys are recreated and the cut one is checked', async () => {
    const { url, routing } = await edgeMigration('plive');
    const load = startPartitionLoad(url);
    let engine: Awaited<ReturnType<typeof startSync>> | undefined;
    try {
      await waitFor(() => load.committed >= 5, { what: 'the load to start' });
      const copied = await runCopy(routing, { chunkBytes: 64 * 1024, jobs: 2 });
      expect(copied.complete).toBe(true);
      engine = await startSync({ routing });
      const before = load.committed;
      await waitFor(() => load.committed >= before + 30, { what: 'writes while streaming' });
      await load.stop();
      await engine.waitForCatchUp();
    } finally {
      await load.stop().catch(() => {});
      await engine?.stop();
    }
    expect(load.committed).toBeGreaterThan(30);
    expect(await differingRoutes(routing)).toEqual([]);

    const weird = urlOf(routing, 'weird');
    expect(await partitionObjects(weird)).toEqual({
      indexes: ['events_2024_data', 'events_2025_h1_id_key', 'events_default_late'],
      constraints: [
        'event_notes.event_notes_2024',
        'event_notes.event_notes_event_id_recorded_at_fkey',
        'events_2024.events_2024_kind_set',
        'events_2025.events_2025_document',
        'events_2025_h1.events_2025_h1_id_key',
      ],
      notNull: true,
    });

    // The cut key declared on a partition is checked by verify, and an orphan of it is found.
    const clean = await verify({ routing, alignment: 'assume-static' });
    expect(clean.tables.filter((t) => t.status !== 'ok')).toEqual([]);
    const cut = clean.foreignKeys.find((f) => f.name === 'events_2024_category')!;
    expect(cut).toMatchObject({ status: 'ok', from: { table: { name: 'events_2024' } } });
    expect(cut.checkedValues).toBe(3);
    await withClient(urlOf(routing, 'reference'), (c) =>
      c.query('DELETE FROM public.categories WHERE id = 3'),
    );
    const found = await verify({ routing, alignment: 'assume-static', tables: ['public.events'] });
    const orphans = found.foreignKeys.find((f) => f.name === 'events_2024_category')!;
    expect(orphans.status).toBe('orphans');
    expect(orphans.orphans.length).toBeGreaterThan(0);
    expect(orphans.orphans.every((o) => o.values.category_id === '3' && !o.preexisting)).toBe(true);
  });

  it('a resumed copy catches up through partition writes; a failed catch-up shows in status until resumed', async () => {
    const { url, routing } = await edgeMigration('presume');
    const controller = new AbortController();
    const partial = await runCopy(routing, {
      jobs: 1,
      chunkBytes: 64 * 1024,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'chunk-done') controller.abort();
      },
    });
    expect(partial.complete).toBe(false);
    const load = startPartitionLoad(url);
    await waitFor(() => load.committed >= 20, { what: 'writes between the two copy runs' });
    await load.stop();

    // The stream up to the resumed copy's snapshot carries a TRUNCATE the service database
    // refuses (a table there references the truncated one).
    const weird = urlOf(routing, 'weird');
    await withClient(weird, (c) =>
      c.query(`CREATE TABLE public.blocker (code text REFERENCES public.legacy_codes (code))`),
    );
    await withClient(url, (c) => c.query(`TRUNCATE public.legacy_codes`));
    const events: CopyEvent[] = [];
    await expect(
      runCopy(routing, { resume: true, jobs: 1, chunkBytes: 64 * 1024, onEvent: (e) => events.push(e) }),
    ).rejects.toMatchObject({ code: 'SYNC_APPLY_FAILED', details: { database: 'presume_weird' } });
    expect(events.some((e) => e.type === 'catch-up-started')).toBe(true);
    const failed = await readMigrationStatus(routing);
    expect(failed.phase).toBe('copy-failed');
    expect(failed.copy?.catchUpError).toMatchObject({ code: 'SYNC_APPLY_FAILED', database: 'presume_weird' });
    expect(renderStatus(failed)).toContain('catch-up of the resumed copy stopped');

    // Following the hints: fix the cause in the service database, then resume the copy.
    await withClient(weird, (c) => c.query(`DROP TABLE public.blocker`));
    const resumed = await runCopy(routing, { resume: true, jobs: 1, chunkBytes: 64 * 1024 });
    expect(resumed).toMatchObject({ complete: true, mode: 'resume' });
    const status = await readMigrationStatus(routing);
    expect(status.phase).toBe('copied');
    expect(status.copy?.catchUpError).toBeNull();
    expect(await differingRoutes(routing)).toEqual([]);
  });

  it('partitions created after provision or while streaming are created in the target; a detached one is reported by verify', async () => {
    const { url, plan } = await edgeMigration('pnew');
    // Made after provision (by a scheduler, say): provision run again creates it, and no conflict…
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public.events_2028 PARTITION OF public.events
                 FOR VALUES FROM ('2028-01-01 00:00:00+00') TO ('2029-01-01 00:00:00+00')`),
    );
    const again = await currentRouting(url, plan);
    const reprovisioned = await provision(await withClient(url, (c) => introspect(c)), again, {
      secretsDir: mkdtempSync(join(tmpdir(), 'carve-secrets-')),
    });
    expect(reprovisioned.created).toEqual([
      { database: 'pnew_weird', kind: 'partition', name: 'public.events_2028' },
    ]);
    // …and copy creates one made after that in the target before loading it.
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public.events_2029 PARTITION OF public.events
                 FOR VALUES FROM ('2029-01-01 00:00:00+00') TO ('2030-01-01 00:00:00+00');
               INSERT INTO public.events VALUES (69001, '2029-02-01 00:00:00+00', 'early', '{}', NULL, NULL)`),
    );
    const routing = await currentRouting(url, plan);
    const copyEvents: CopyEvent[] = [];
    expect((await runCopy(routing, { jobs: 2, onEvent: (e) => copyEvents.push(e) })).complete).toBe(true);
    expect(copyEvents.filter((e) => e.type === 'partition-added')).toEqual([
      { type: 'partition-added', database: 'pnew_weird', table: 'public.events_2029' },
    ]);
    const added: string[] = [];
    const engine = await startSync({
      routing,
      onEvent: (e) => {
        if (e.type === 'partition-added') added.push(`${e.database} ${e.table}`);
      },
    });
    try {
      await withClient(url, (c) =>
        c.query(`
          CREATE TABLE public.events_2026 PARTITION OF public.events
            FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2027-01-01 00:00:00+00');
          CREATE TABLE public.events_2027 PARTITION OF public.events
            FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2028-01-01 00:00:00+00') PARTITION BY RANGE (recorded_at);
          CREATE TABLE public.events_2027_all PARTITION OF public.events_2027 DEFAULT;
          INSERT INTO public.events VALUES (70001, '2026-05-01 00:00:00+00', 'new', '{}', NULL, NULL),
                                           (70002, '2027-05-01 00:00:00+00', 'new', NULL, NULL, NULL);
          UPDATE public.events SET kind = 'newer' WHERE id = 70001;
          UPDATE public.events SET recorded_at = '2026-07-01 00:00:00+00' WHERE id = 70002;
          INSERT INTO public.events VALUES (70003, '2027-02-01 00:00:00+00', 'new', NULL, NULL, NULL);`),
      );
      await engine.waitForCatchUp();
      expect(await differingRoutes(routing)).toEqual([]);
      const placed = await rows<{ t: string; id: string }>(
        urlOf(routing, 'weird'),
        `SELECT tableoid::regclass::text AS t, id::text FROM public.events WHERE id >= 69001 ORDER BY id`,
      );
      expect(placed).toEqual([
        { t: 'events_2029', id: '69001' },
        { t: 'events_2026', id: '70001' },
        { t: 'events_2026', id: '70002' },
        { t: 'events_2027_all', id: '70003' },
      ]);

      // Detaching moves rows out of the routed table without a row change in the WAL.
      await withClient(url, (c) => c.query(`ALTER TABLE public.events DETACH PARTITION public.events_2026`));
      await withClient(url, (c) =>
        c.query(
          `INSERT INTO public.events VALUES (70004, '2027-03-01 00:00:00+00', 'new', NULL, NULL, NULL)`,
        ),
      );
      await engine.waitForCatchUp();
    } finally {
      await engine.stop();
    }
    expect(added).toEqual([
      'pnew_weird public.events_2026',
      'pnew_weird public.events_2027',
      'pnew_weird public.events_2027_all',
    ]);
    const detached = await verify({ routing, alignment: 'assume-static', tables: ['public.events'] });
    const events = detached.tables.find((t) => t.target.name === 'events')!;
    expect(events).toMatchObject({
      status: 'differs',
      extra: 2,
      missing: 0,
      partitions: { onlyInTarget: [{ schema: 'public', name: 'events_2026' }], onlyInMonolith: [] },
    });
    // Following the hint makes the service database match.
    const hint = renderVerifySummary(detached)
      .split('\n')
      .find((l) => l.includes('→ to match:'))!;
    const sql = hint.slice(hint.indexOf('ALTER TABLE'), hint.indexOf('; in '));
    expect(sql).toBe('ALTER TABLE "public"."events" DETACH PARTITION "public"."events_2026"');
    await withClient(urlOf(routing, 'weird'), (c) => c.query(sql));
    const matched = await verify({ routing, alignment: 'assume-static', tables: ['public.events'] });
    expect(matched.tables.find((t) => t.target.name === 'events')).toMatchObject({ status: 'ok' });
    expect(matched.tables.find((t) => t.target.name === 'events')!.partitions).toBeUndefined();
  });
});
