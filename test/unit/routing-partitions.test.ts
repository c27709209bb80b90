import { describe, expect, it } from 'vitest';
import type { CatalogTable } from '../../src/catalog/model.js';
import { parsePlan } from '../../src/plan/load.js';
import { renderPostLoad } from '../../src/provision/render-post-load.js';
import { renderOwnedTable } from '../../src/provision/render-table.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { summarizeRouting } from '../../src/routing/summarize.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

/**
 * A partitioned table `measures` (range on `at`) with a sub-partitioned level (m_2025) and objects
 * declared on single partitions, next to what partitions inherit from their parent (which the
 * parent recreates and which must not be recreated twice).
 */
const inherited = <T extends object>(x: T): T => ({ ...x, inherited: true });
const partitionOf = (parent: string, bound: string, t: CatalogTable, key?: string): CatalogTable => ({
  ...t,
  parent: { schema: 'public', name: parent },
  partitionBound: bound,
  ...(key ? { partitionKey: key } : {}),
});
const columns = ['id', 'at', 'site_id', 'owner_id', 'note', 'secret'];

const measures: CatalogTable = {
  ...tableOf('measures', columns, {
    pk: ['id', 'at'],
    partitions: [
      { schema: 'public', name: 'm_2024' },
      { schema: 'public', name: 'm_2025_a' },
    ],
    indexes: [{ name: 'measures_at', columns: ['at'], usingClause: 'USING btree (at)' }],
    checks: [{ name: 'measures_id', definition: 'CHECK (id > 0)', columns: ['id'] }],
  }),
  partitionKey: 'RANGE (at)',
};
const m2024base = tableOf('m_2024', columns, {
  pk: ['id', 'at'],
  kind: 'partition',
  parent: { schema: 'public', name: 'measures' },
  uniques: [{ name: 'm_2024_note_key', columns: ['note'] }],
  indexes: [
    { name: 'm_2024_at_idx', columns: ['at'], usingClause: 'USING btree (at)', inherited: true },
    { name: 'm_2024_site', columns: ['site_id'], usingClause: 'USING btree (site_id)' },
    { name: 'm_2024_secret', columns: ['secret'], usingClause: 'USING btree (secret)' },
  ],
  checks: [
    { name: 'measures_id', definition: 'CHECK (id > 0)', columns: ['id'] },
    { name: 'm_2024_note_set', definition: "CHECK (note <> '')", columns: ['note'] },
  ],
  fks: [{ name: 'm_2024_site', columns: ['site_id'], references: 'sites' }],
});
const m2024: CatalogTable = partitionOf('measures', "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", {
  ...m2024base,
  checks: m2024base.checks.map((c) => (c.name === 'measures_id' ? inherited(c) : c)),
  columns: m2024base.columns.map((c) => (c.name === 'note' ? { ...c, notNull: true } : c)),
});
const m2025 = partitionOf(
  'measures',
  "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
  tableOf('m_2025', columns, {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'measures' },
    fks: [{ name: 'm_2025_owner', columns: ['owner_id'], references: 'owners' }],
  }),
  'RANGE (at)',
);
const m2025a = partitionOf(
  'm_2025',
  'DEFAULT',
  tableOf('m_2025_a', columns, {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'm_2025' },
  }),
);
const catalog = catalogOf([
  measures,
  m2024,
  m2025,
  m2025a,
  tableOf('sites', ['id'], { pk: ['id'] }),
  tableOf('owners', ['id'], { pk: ['id'] }),
  tableOf('readings', ['id', 'measure_id', 'measure_at'], {
    pk: ['id'],
    fks: [
      {
        name: 'readings_2024',
        columns: ['measure_id', 'measure_at'],
        references: 'm_2024',
        referencedColumns: ['id', 'at'],
      },
    ],
  }),
  tableOf('notes', ['id', 'measure_id', 'measure_at'], {
    pk: ['id'],
    fks: [
      {
        name: 'notes_2025_a',
        columns: ['measure_id', 'measure_at'],
        references: 'm_2025_a',
        referencedColumns: ['id', 'at'],
      },
      {
        name: 'notes_measures',
        columns: ['measure_id', 'measure_at'],
        references: 'measures',
        referencedColumns: ['id', 'at'],
      },
    ],
  }),
]);

const plan = (tables: string) =>
  parsePlan(
    `name: parts
source: postgres://u@mono/monolith
target: postgres://admin@targets:5432/postgres
services:
  metrics:
    database: metrics_db
    tables: { ${tables} }
  sites:
    database: sites_db
    tables: { sites: {}, readings: {} }
`,
    { env: {} },
  );

const routing = buildRouting(
  plan(`measures: { columns: { taken_at: { from: at } }, drop: [secret] }, owners: {}, notes: {}`),
  catalog,
);
const metrics = routing.services.find((s) => s.name === 'metrics')!;
const route = metrics.tables.find((r) => r.target.name === 'measures')!;

describe('partitioned tables in routing', () => {
  it('lists every partition below, parents first, with what was declared on it alone', () => {
    expect(
      route.partitionTree!.map((p) => ({
        name: p.table.name,
        keys: p.keys.map((k) => k.name),
        indexes: p.indexes.map((i) => i.name),
        checks: p.checks.map((c) => c.name),
        notNull: p.notNull,
      })),
    ).toEqual([
      {
        name: 'm_2024',
        keys: ['m_2024_note_key'],
        indexes: ['m_2024_site'],
        checks: ['m_2024_note_set'],
        notNull: ['note'],
      },
      { name: 'm_2025', keys: [], indexes: [], checks: [], notNull: [] },
      { name: 'm_2025_a', keys: [], indexes: [], checks: [], notNull: [] },
    ]);
    expect(routing.warnings).toContainEqual(
      expect.objectContaining({
        code: 'INDEX_NOT_MIGRATED',
        message: expect.stringContaining('Index m_2024_secret of partition public.m_2024 of public.measures'),
      }),
    );
  });

  it('keeps or cuts foreign keys declared on partitions and those referencing partitions', () => {
    expect(
      metrics.keptForeignKeys.map((k) => [
        k.name,
        k.from.name,
        k.columns,
        k.to.name,
        k.toColumns,
        k.fromPartitioned,
      ]),
    ).toEqual([
      ['m_2025_owner', 'm_2025', ['owner_id'], 'owners', ['id'], true],
      ['notes_2025_a', 'notes', ['measure_id', 'measure_at'], 'm_2025_a', ['id', 'taken_at'], false],
      ['notes_measures', 'notes', ['measure_id', 'measure_at'], 'measures', ['id', 'taken_at'], false],
    ]);
    expect(
      routing.cutForeignKeys.map((c) => [
        c.name,
        c.from.routeId,
        c.from.table.name,
        c.to.routeId,
        c.to.table.name,
        c.to.columns,
      ]),
    ).toEqual([
      ['m_2024_site', 'metrics_db/public.measures', 'm_2024', 'sites_db/public.sites', 'sites', ['id']],
      [
        'readings_2024',
        'sites_db/public.readings',
        'readings',
        'metrics_db/public.measures',
        'm_2024',
        ['id', 'taken_at'],
      ],
    ]);
    expect(routing.warnings.filter((w) => w.code === 'FK_NOT_MIGRATED')).toEqual([]);
    // Loads: owners and measures (referenced through a partition) before notes.
    expect(metrics.loadOrder.indexOf('metrics_db/public.notes')).toBeGreaterThan(
      metrics.loadOrder.indexOf('metrics_db/public.measures'),
    );
  });

  it('carve plan shows the objects declared on partitions', () => {
    const table = summarizeRouting(routing)
      .databases.find((d) => d.service === 'metrics')!
      .tables.find((t) => t.target === 'public.measures')!;
    expect(table.partitionObjects).toEqual([
      'unique m_2024_note_key on public.m_2024',
      'index m_2024_site on public.m_2024',
      'check m_2024_note_set on public.m_2024',
      'not null note on public.m_2024',
    ]);
  });

  it('refuses a table named like a partition that lands in the same database', () => {
    const withOther = { ...catalog, tables: [...catalog.tables, tableOf('owners2', ['id'], { pk: ['id'] })] };
    let problems: { code: string; object?: string }[] = [];
    try {
      buildRouting(plan(`measures: {}, owners: {}, notes: {}, m_2024: { from: owners2 }`), withOther);
    } catch (error) {
      problems = (error as { details: { problems: typeof problems } }).details.problems;
    }
    expect(problems.map((p) => [p.code, p.object])).toEqual([
      ['PLAN_DUPLICATE_TARGET_TABLE', 'metrics_db.public.m_2024'],
    ]);
  });
});

describe('partitioned tables in provision', () => {
  it('creates partitions with their own checks and NOT NULLs, before the renames', () => {
    const statements = renderOwnedTable(route, catalog);
    const partitionStatements = statements.filter((s) => /m_2024|m_2025/.test(s));
    expect(partitionStatements).toEqual([
      `CREATE TABLE "public"."m_2024" PARTITION OF "public"."measures" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
      'ALTER TABLE "public"."m_2024" ALTER COLUMN "note" SET NOT NULL',
      `ALTER TABLE "public"."m_2024" ADD CONSTRAINT "m_2024_note_set" CHECK (note <> '')`,
      `CREATE TABLE "public"."m_2025" PARTITION OF "public"."measures" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (at)`,
      'CREATE TABLE "public"."m_2025_a" PARTITION OF "public"."m_2025" DEFAULT',
    ]);
    const rename = statements.findIndex((s) => s.includes('RENAME COLUMN'));
    expect(rename).toBeGreaterThan(statements.indexOf(partitionStatements.at(-1)!));
  });

  it('builds keys and indexes declared on partitions after the load, before the table’s own, in one group', () => {
    const objects = renderPostLoad(metrics).filter((o) => o.kind === 'index');
    const measuresObjects = objects.filter((o) => o.kind === 'index' && o.group === 'public.measures');
    expect(measuresObjects.map((o) => o.name)).toEqual([
      'public.m_2024_note_key',
      'public.m_2024_site',
      'public.measures_at',
    ]);
    const site = measuresObjects.find((o) => o.name === 'public.m_2024_site')!;
    expect(site.statements).toEqual([
      'CREATE INDEX IF NOT EXISTS "m_2024_site" ON "public"."m_2024" USING btree (site_id)',
    ]);
    const unique = measuresObjects.find((o) => o.name === 'public.m_2024_note_key')!;
    expect(unique.statements).toEqual([
      'ALTER TABLE "public"."m_2024" ADD CONSTRAINT "m_2024_note_key" UNIQUE (note)',
    ]);
  });

  it('adds a key declared on a sub-partitioned level checked at once (no NOT VALID on partitioned tables)', () => {
    const fk = renderPostLoad(metrics).find((o) => o.kind === 'foreign-key' && o.name === 'm_2025_owner')!;
    expect(fk).toMatchObject({ validate: [] });
    expect(fk.kind === 'foreign-key' && fk.add[0]).not.toContain('NOT VALID');
    const notes = renderPostLoad(metrics).find((o) => o.kind === 'foreign-key' && o.name === 'notes_2025_a')!;
    expect(notes.kind === 'foreign-key' && notes.add[0]).toContain(
      'REFERENCES "public"."m_2025_a" ("id", "taken_at")',
    );
  });
});
