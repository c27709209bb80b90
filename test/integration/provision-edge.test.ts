import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog, CatalogTable } from '../../src/catalog/model.js';
import { isCarveError } from '../../src/errors.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { quoteQualified } from '../../src/pg/quote.js';
import { sqlStateOf } from '../../src/pg/sqlstate.js';
import { parsePlan } from '../../src/plan/load.js';
import { renderDryRunFiles, writeSqlFiles } from '../../src/provision/dry-run.js';
import { createPostLoadObjects } from '../../src/provision/post-load.js';
import { provision, type ProvisionConflict, type ProvisionResult } from '../../src/provision/index.js';
import { renderProvisionScript } from '../../src/provision/render-schema.js';
import { passwordFile, resolveRoleSecrets } from '../../src/provision/role-secrets.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { stringify } from 'yaml';
import type { Routing } from '../../src/routing/model.js';
import { edgeCasePlan, edgeCasePlanYaml } from '../fixtures/edge-case-plan.js';
import {
  createEdgeCaseSchema,
  EVENTS_LEAVES,
  HOSTILE_TABLE,
  ORDER_ITEMS,
} from '../fixtures/edge-case-schema.js';
import { createDatabase, useCluster } from '../support/cluster.js';

/**
 * Provisioning the edge-case monolith (hostile names, renames, partitions, projections, a
 * readonly database) into a real cluster, and the dry-run SQL into a second one.
 */
const DATABASES = ['sales_db', 'weird_db', 'reference_db'];

let pg: LocalCluster;
let catalog: Catalog;
let routing: Routing;
let secretsDir: string;
let first: ProvisionResult;

beforeAll(async () => {
  pg = await useCluster({ name: 'provision' });
  const source = await createDatabase(pg, 'edge');
  await withClient(source, (c) => createEdgeCaseSchema(c));
  catalog = await withClient(source, (c) => introspect(c));
  routing = buildRouting(parsePlan(edgeCasePlanYaml(source, pg.url()), { env: {} }), catalog);
  secretsDir = join(mkdtempSync(join(tmpdir(), 'carve-secrets-')), 'edge');
  first = await provision(catalog, routing, { secretsDir });
});

/** Introspection without what differs between two equal databases (oids, sizes, sequence positions). */
function comparable(c: Catalog): unknown {
  return JSON.parse(
    JSON.stringify(c, (key, value) =>
      [
        'oid',
        'typeOid',
        'rowEstimate',
        'totalBytes',
        'heapBytes',
        'toastBytes',
        'pages',
        'lastValue',
        'database',
      ].includes(key)
        ? undefined
        : value,
    ),
  );
}

async function catalogs(cluster: LocalCluster): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const db of DATABASES) out[db] = comparable(await withClient(cluster.url(db), (c) => introspect(c)));
  return out;
}

/** Run `sql` as `role` in `database`; the SQLSTATE it fails with, or 'ok'. */
async function tryAs(role: string, database: string, sql: string): Promise<string> {
  let client;
  try {
    client = await connect(pg.url(database, role));
  } catch (error) {
    return `connect:${sqlStateOf(error)}`;
  }
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return sqlStateOf(error) ?? String(error);
  } finally {
    await client.end();
  }
}

describe('provision on the edge-case schema', () => {
  it('creates roles, databases and every object; running it again changes nothing', async () => {
    const kinds = (kind: string) => first.created.filter((c) => c.kind === kind).map((c) => c.name);
    expect(kinds('role')).toEqual([
      'sales_service',
      'carve_sales',
      'weird_service',
      'carve_weird',
      'reference_service',
      'carve_reference',
    ]);
    expect(kinds('database')).toEqual(DATABASES);
    expect(kinds('table').sort()).toEqual(
      [
        'Sales.Customers',
        `public.${ORDER_ITEMS}`,
        `public.${HOSTILE_TABLE}`,
        'public.documents',
        'public.legacy_codes',
        'public.cache_entries',
        'public.events',
        'public.event_notes',
        'Sales.customer_names',
        'public.categories',
      ].sort(),
    );
    expect(kinds('audit-table')).toEqual(['public.sales_audit', 'public.reference_audit']);
    expect(first.present).toBe(0);

    const before = await catalogs(pg);
    const again = await provision(catalog, routing, { secretsDir });
    expect(again.created).toEqual([]);
    expect(again.present).toBe(first.created.length);
    expect(again.passwordFiles).toEqual([]);
    expect(await catalogs(pg)).toEqual(before);
  });

  it('applies renames through PostgreSQL: checks, generated columns, keys, identity and partitions follow', async () => {
    const sales = await withClient(pg.url('sales_db'), (c) => introspect(c));
    const items = sales.tables.find((t) => t.name === ORDER_ITEMS)!;
    expect(items.columns.map((c) => c.name)).toEqual([
      'id',
      'customer_id',
      'category_id',
      'state',
      'amount',
      'qty',
      'price',
      'total',
      'ticket',
    ]);
    expect(items.columns.find((c) => c.name === 'total')!.generated).toBe('((qty)::numeric * price)');
    expect(items.checks).toEqual([
      expect.objectContaining({ name: 'quantity > 0', definition: 'CHECK ((qty > 0))' }),
    ]);
    expect(items.columns.find((c) => c.name === 'state')!.type).toBe('public."Order Status"');
    const customers = sales.tables.find((t) => t.name === 'Customers')!;
    expect(customers.columns[0]).toMatchObject({
      identity: 'always',
      sequence: { schema: 'Sales', name: 'Customers_id_seq' },
    });
    expect(sales.sequences.find((s) => s.name === 'ticket_seq')).toMatchObject({
      start: '1000',
      increment: '5',
    });

    const weird = await withClient(pg.url('weird_db'), (c) => introspect(c));
    const events = weird.tables.find((t) => t.name === 'events')!;
    expect(events).toMatchObject({ kind: 'partitioned', partitionKey: 'RANGE (recorded_at)' });
    expect(events.partitions.map((p) => p.name)).toEqual(EVENTS_LEAVES);
    expect(weird.tables.find((t) => t.name === 'events_2025')).toMatchObject({
      partitionKey: 'RANGE (recorded_at)',
      parent: { schema: 'public', name: 'events' },
    });
    // Checks and NOT NULLs declared on one partition come with the table (keys after the load).
    const partition = (name: string) => weird.tables.find((t) => t.name === name)!;
    expect(
      partition('events_2024')
        .checks.filter((c) => !c.inherited)
        .map((c) => c.name),
    ).toEqual(['events_2024_kind_set']);
    expect(partition('events_default').columns.find((c) => c.name === 'data')!.notNull).toBe(true);
    expect(partition('events_2024').columns.find((c) => c.name === 'data')!.notNull).toBe(false);
    expect(weird.tables.find((t) => t.name === 'legacy_codes')).toMatchObject({
      replicaIdentity: 'index',
      replicaIdentityIndex: 'legacy_codes_code_key',
    });
    expect(weird.tables.find((t) => t.name === 'cache_entries')!.unlogged).toBe(true);
    const hostile = weird.tables.find((t) => t.name === HOSTILE_TABLE)!;
    expect(hostile.columns.map((c) => c.name)).toEqual(
      catalog.tables.find((t) => t.name === HOSTILE_TABLE)!.columns.map((c) => c.name),
    );
    const projection = weird.tables.find((t) => t.name === 'customer_names')!;
    expect(projection.columns.map((c) => [c.name, c.type, c.notNull, c.default, c.identity])).toEqual([
      ['id', 'integer', true, undefined, undefined],
      ['Name', 'text', true, undefined, undefined],
    ]);
    expect(projection.primaryKey!.columns).toEqual(['id']);
  });

  it('service roles: write their own tables, are refused other databases, only read shared data and projections', async () => {
    const insertItem =
      `WITH c AS (INSERT INTO "Sales"."Customers" ("Name") VALUES ('n') RETURNING id) ` +
      `INSERT INTO public."${ORDER_ITEMS}" (customer_id, qty, price) SELECT id, 2, 1.5 FROM c`;
    expect(await tryAs('sales_service', 'sales_db', insertItem)).toBe('ok');
    expect(
      await tryAs('sales_service', 'sales_db', 'INSERT INTO public.sales_audit (action) VALUES ($$x$$)'),
    ).toBe('ok');
    // another service's database: CONNECT is refused
    expect(await tryAs('sales_service', 'weird_db', 'SELECT 1')).toBe('connect:42501');
    expect(await tryAs('weird_service', 'sales_db', `SELECT * FROM public."${ORDER_ITEMS}"`)).toBe(
      'connect:42501',
    );
    // the readonly database: every role reads, none writes
    for (const role of ['sales_service', 'weird_service', 'reference_service']) {
      expect(await tryAs(role, 'reference_db', 'SELECT count(*) FROM public.categories')).toBe('ok');
      expect(await tryAs(role, 'reference_db', `INSERT INTO public.categories VALUES (99, NULL, 'x')`)).toBe(
        '42501',
      );
      expect(await tryAs(role, 'reference_db', 'DELETE FROM public.categories')).toBe('42501');
      expect(await tryAs(role, 'reference_db', 'CREATE TABLE public.mine (a int)')).toBe('42501');
    }
    // a projection is read-only for its service
    expect(await tryAs('weird_service', 'weird_db', 'SELECT * FROM "Sales".customer_names')).toBe('ok');
    expect(
      await tryAs('weird_service', 'weird_db', `INSERT INTO "Sales".customer_names VALUES (1, 'x')`),
    ).toBe('42501');
    expect(await tryAs('weird_service', 'weird_db', `DROP TABLE "Sales".customer_names`)).toBe('42501');
    expect(
      await tryAs(
        'weird_service',
        'weird_db',
        `UPDATE ${quoteQualified('public', HOSTILE_TABLE)} SET payload = NULL`,
      ),
    ).toBe('ok');
    // carve's state schema is carve's role's alone
    expect(await tryAs('sales_service', 'sales_db', 'CREATE TABLE carve.x (a int)')).toBe('42501');
    expect(await tryAs('sales_service', 'sales_db', 'SELECT * FROM carve.anything')).toBe('42501');
  });

  it("carve's roles: the service's rights plus the projections, carve's state and replica mode; nothing else", async () => {
    const roles = await withClient(
      pg.url(),
      async (c) =>
        (
          await c.query(
            `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin,
                  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                         WHERE m.member = r.oid ORDER BY 1) AS member_of
             FROM pg_roles r WHERE rolname LIKE 'carve\\_%' ORDER BY 1`,
          )
        ).rows,
    );
    const plain = { rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false };
    expect(roles).toEqual([
      { rolname: 'carve_reference', ...plain, rolbypassrls: false, rolcanlogin: true, member_of: [] },
      {
        rolname: 'carve_sales',
        ...plain,
        rolbypassrls: false,
        rolcanlogin: true,
        member_of: ['sales_service'],
      },
      {
        rolname: 'carve_weird',
        ...plain,
        rolbypassrls: false,
        rolcanlogin: true,
        member_of: ['weird_service'],
      },
    ]);
    // the service's tables, as the service; another service's database: refused
    expect(
      await tryAs('carve_sales', 'sales_db', `UPDATE ${quoteQualified('public', ORDER_ITEMS)} SET qty = qty`),
    ).toBe('ok');
    expect(await tryAs('carve_sales', 'weird_db', 'SELECT 1')).toBe('connect:42501');
    expect(await tryAs('carve_weird', 'sales_db', 'SELECT 1')).toBe('connect:42501');
    // projections and the shared tables are carve's to write (their services only read them)
    expect(await tryAs('carve_weird', 'weird_db', `INSERT INTO "Sales".customer_names VALUES (7, 'x')`)).toBe(
      'ok',
    );
    expect(await tryAs('carve_weird', 'weird_db', 'DELETE FROM "Sales".customer_names WHERE id = 7')).toBe(
      'ok',
    );
    expect(await tryAs('carve_reference', 'reference_db', 'UPDATE public.categories SET label = label')).toBe(
      'ok',
    );
    expect(await tryAs('carve_sales', 'reference_db', 'UPDATE public.categories SET label = label')).toBe(
      '42501',
    );
    // replica mode, its state schema and the replication-origin functions it is given, in its database
    expect(await tryAs('carve_sales', 'sales_db', 'SET session_replication_role = replica')).toBe('ok');
    expect(await tryAs('sales_service', 'sales_db', 'SET session_replication_role = replica')).toBe('42501');
    expect(
      await tryAs('carve_sales', 'sales_db', 'CREATE TABLE carve.probe (a int); DROP TABLE carve.probe'),
    ).toBe('ok');
    expect(await tryAs('carve_sales', 'sales_db', `SELECT pg_replication_origin_create('carve_probe')`)).toBe(
      'ok',
    );
    for (const f of [
      `pg_replication_origin_advance('carve_probe', '0/1')`,
      `pg_replication_origin_drop('carve_probe')`,
    ])
      expect(await tryAs('carve_sales', 'sales_db', `SELECT ${f}`)).toBe('42501');
    expect(await tryAs('carve_sales', 'sales_db', 'CREATE SCHEMA mine')).toBe('42501');
    expect(await tryAs('carve_sales', 'sales_db', 'CREATE ROLE mine')).toBe('42501');
  });

  it('refuses an existing carve role with more power than its service, before any write', async () => {
    const admin = (sql: string) => withClient(pg.url(), (c) => c.query(sql));
    const attempt = async () => {
      try {
        await provision(catalog, routing, { secretsDir });
        return undefined;
      } catch (error) {
        return error as { code: string; details: { conflicts: ProvisionConflict[] } };
      }
    };
    await admin(
      'ALTER ROLE carve_sales CREATEDB; GRANT sales_service TO carve_weird; GRANT carve_reference TO reference_service',
    );
    try {
      const error = await attempt();
      expect(error?.code).toBe('PROVISION_CONFLICT');
      expect(error!.details.conflicts.map((c) => [c.kind, c.object, c.reasons])).toEqual([
        ['role', 'carve_sales', ["carve's role carve_sales has CREATEDB"]],
        ['role', 'carve_weird', ["carve's role carve_weird is a member of sales_service"]],
        [
          'role',
          'carve_reference',
          ["service role reference_service has the rights of carve's role carve_reference"],
        ],
      ]);
    } finally {
      await admin(
        'ALTER ROLE carve_sales NOCREATEDB; REVOKE sales_service FROM carve_weird; REVOKE carve_reference FROM reference_service',
      );
    }
    expect(await attempt()).toBeUndefined();
  });

  it('keeps generated passwords in 0600 files, and the role logs in with it (SCRAM)', async () => {
    const file = passwordFile(secretsDir, 'sales_service');
    expect(first.passwordFiles.sort()).toEqual(
      ['sales_service', 'weird_service', 'reference_service', 'carve_sales', 'carve_weird', 'carve_reference']
        .map((r) => passwordFile(secretsDir, r))
        .sort(),
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    const password = readFileSync(file, 'utf8').trim();
    expect(JSON.stringify(first)).not.toContain(password);

    const hba = join(pg.dataDir, 'pg_hba.conf');
    const original = readFileSync(hba, 'utf8');
    writeFileSync(hba, `host all sales_service 127.0.0.1/32 scram-sha-256\n${original}`);
    await withClient(pg.url(), (c) => c.query('SELECT pg_reload_conf()'));
    try {
      const url = (pw: string) =>
        pg
          .url('sales_db', 'sales_service')
          .replace('sales_service@', `sales_service:${encodeURIComponent(pw)}@`);
      await withClient(url(password), async (c) =>
        expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('sales_service'),
      );
      // connect() reports a refused login as a coded CarveError that keeps the server's SQLSTATE.
      await expect(connect(url('wrong'))).rejects.toMatchObject({
        code: 'CONNECTION_AUTH_FAILED',
        sqlState: '28P01',
      });
    } finally {
      writeFileSync(hba, original);
      await withClient(pg.url(), (c) => c.query('SELECT pg_reload_conf()'));
    }
  });

  it('creates indexes (also on renamed columns) and kept foreign keys after the load, idempotently', async () => {
    const results = [];
    for (const s of routing.services) results.push(await createPostLoadObjects(routing, s.name, { jobs: 2 }));
    expect(results.map((r) => [r.database, r.indexes, r.foreignKeys])).toEqual([
      ['sales_db', 5, 1], // 3 indexes and 2 unique keys
      ['weird_db', 4, 3], // events_kind; 2 indexes and a unique key declared on partitions
      // kept keys: events_2025 → documents (declared on a partition), event_notes → events and → events_2024
      ['reference_db', 0, 1],
    ]);
    const sales = await withClient(pg.url('sales_db'), (c) => introspect(c));
    const items = sales.tables.find((t) => t.name === ORDER_ITEMS)!;
    expect(items.indexes.find((i) => i.name === 'order_items_open')!.usingClause).toBe(
      `USING btree (id) WHERE (state = 'new'::public."Order Status")`,
    );
    expect(items.indexes.find((i) => i.name === 'Order Items by customer')!.columns).toEqual([
      'customer_id',
      'state',
    ]);
    expect(items.columns.map((c) => c.name)).toContain('qty');
    expect(items.uniqueKeys.map((k) => k.name)).toContain('Order Items ticket unique');
    expect(items.foreignKeys.map((f) => [f.name, f.validated])).toEqual([
      ['Order Items_customer_id_fkey', true],
    ]);
    const weird = await withClient(pg.url('weird_db'), (c) => introspect(c));
    expect(weird.tables.find((t) => t.name === 'events_2024')!.indexes.map((i) => i.name)).toContain(
      'events_2024_kind_idx',
    );
    // Every object declared on a partition of the monolith is on the same partition of the target.
    const declared = (tables: readonly CatalogTable[]) =>
      tables
        .filter((t) => t.kind === 'partition')
        .flatMap((t) => [
          ...[t.primaryKey, ...t.uniqueKeys]
            .filter((k) => k && !k.inherited)
            .map((k) => `${t.name} key ${k!.name} ${k!.definition}`),
          ...t.indexes.filter((i) => !i.inherited).map((i) => `${t.name} index ${i.name} ${i.usingClause}`),
          ...t.checks.filter((c) => !c.inherited).map((c) => `${t.name} check ${c.name} ${c.definition}`),
          ...t.foreignKeys.map((f) => `${t.name} fk ${f.name} ${f.definition} ${f.validated}`),
        ])
        .sort();
    // …but the key to categories, which lives in reference_db: cut, and checked by verify.
    const cut = routing.cutForeignKeys.map((f) => f.name);
    expect(cut).toContain('events_2024_category');
    expect(declared(weird.tables)).toEqual(
      declared(catalog.tables).filter((d) => !cut.some((name) => d.includes(` fk ${name} `))),
    );
    expect(declared(weird.tables)).toHaveLength(6);

    const again = await createPostLoadObjects(routing, 'sales', { jobs: 2 });
    expect(again).toMatchObject({ indexes: 0, foreignKeys: 0, created: [], present: 6 });
    await expect(createPostLoadObjects(routing, 'nope')).rejects.toMatchObject({ code: 'UNKNOWN_SERVICE' });
  });

  it('the dry-run SQL applied with psql yields the same catalog as direct provisioning', async () => {
    const other = await useCluster({ name: 'provision-psql' });
    const secrets = resolveRoleSecrets(routing.services, { secretsDir });
    const files = renderDryRunFiles(renderProvisionScript(catalog, routing, secrets.verifiers), routing);
    expect(files.map((f) => f.name)).toEqual([
      '00_roles.sql',
      '01_create_sales_schema.sql',
      '02_create_weird_schema.sql',
      '03_create_reference_schema.sql',
      '04_grants.sql',
      '05_post_load_sales.sql',
      '06_post_load_weird.sql',
      '07_post_load_reference.sql',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'carve-dry-run-'));
    writeSqlFiles(dir, files);
    for (const name of readdirSync(dir).sort()) {
      const run = spawnSync(
        join(other.binaries.binDir, 'psql'),
        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', other.url(), '-f', join(dir, name)],
        { encoding: 'utf8' },
      );
      expect(run.stderr, name).toBe('');
      expect(run.status, name).toBe(0);
    }
    // the source rows inserted by the grants test are data, not catalog: compare catalogs only
    expect(await catalogs(other)).toEqual(await catalogs(pg));
    const roles = async (c: LocalCluster) =>
      withClient(
        c.url(),
        async (cl) =>
          (
            await cl.query(
              `SELECT rolname, rolcanlogin, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram,
                      ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                             WHERE m.member = a.oid ORDER BY 1) AS member_of,
                      (SELECT paracl::text FROM pg_parameter_acl WHERE parname = 'session_replication_role') AS set_acl
                 FROM pg_authid a WHERE rolname LIKE '%_service' OR rolname LIKE 'carve\\_%' ORDER BY 1`,
            )
          ).rows,
      );
    expect(await roles(other)).toEqual(await roles(pg));
  });

  it('swapped column names: table, replica-identity key, index and foreign key all follow', async () => {
    type Svc = { database: string; tables: Record<string, { columns?: Record<string, { from: string }> }> };
    const plan = edgeCasePlan(routing.sourceUrl, pg.url(), { name: 'swap' }) as {
      services: Record<string, Svc>;
    };
    for (const s of Object.values(plan.services)) s.database = `${s.database}_swap`;
    plan.services.sales!.tables[ORDER_ITEMS]!.columns = {
      customer_id: { from: 'category_id' },
      category_id: { from: 'customer_id' },
    };
    plan.services.weird!.tables.legacy_codes = {
      columns: { label: { from: 'code' }, code: { from: 'label' } },
    };
    const swapped = buildRouting(parsePlan(stringify(plan), { env: {} }), catalog);
    await provision(catalog, swapped, { secretsDir });
    for (const s of swapped.services) await createPostLoadObjects(swapped, s.name, { jobs: 2 });
    const sales = await withClient(pg.url('sales_db_swap'), (c) => introspect(c));
    const items = sales.tables.find((t) => t.name === ORDER_ITEMS)!;
    expect(items.indexes.find((i) => i.name === 'Order Items by customer')!.columns).toEqual([
      'category_id',
      'status',
    ]);
    expect(items.foreignKeys.map((f) => [f.columns, f.references.name])).toEqual([
      [['category_id'], 'Customers'],
    ]);
    const weird = await withClient(pg.url('weird_db_swap'), (c) => introspect(c));
    const codes = weird.tables.find((t) => t.name === 'legacy_codes')!;
    expect(codes.columns.map((c) => [c.name, c.notNull])).toEqual([
      ['label', true],
      ['code', false],
    ]);
    expect(codes.indexes.find((i) => i.name === 'legacy_codes_code_key')!.columns).toEqual(['label']);
    expect(codes.replicaIdentity).toBe('index');
    expect((await provision(catalog, swapped, { secretsDir })).created).toEqual([]);
  });

  it('a conflicting object anywhere fails naming it, and nothing at all is changed', async () => {
    await withClient(pg.url('weird_db'), (c) =>
      c.query('ALTER TABLE public.documents ADD COLUMN extra integer'),
    );
    await withClient(pg.url('sales_db'), async (c) => {
      await c.query('DROP TABLE public.sales_audit');
      await c.query(`ALTER TYPE public."Order Status" ADD VALUE 'refunded'`);
    });
    let conflicts: ProvisionConflict[] = [];
    try {
      await provision(catalog, routing, { secretsDir });
      expect.unreachable();
    } catch (error) {
      expect(isCarveError(error, 'PROVISION_CONFLICT')).toBe(true);
      conflicts = (error as { details: { conflicts: ProvisionConflict[] } }).details.conflicts;
    }
    expect(conflicts.map((c) => [c.database, c.kind, c.object])).toEqual([
      ['sales_db', 'enum', 'public.Order Status'],
      ['weird_db', 'table', 'public.documents'],
    ]);
    expect(conflicts[1]!.reasons[0]).toContain('extra');
    // the missing audit table was not recreated: the run stopped before writing anything
    const audit = await withClient(
      pg.url('sales_db'),
      async (c) => (await c.query(`SELECT to_regclass('public.sales_audit') AS t`)).rows[0].t,
    );
    expect(audit).toBeNull();
  });
});
