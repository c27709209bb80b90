import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/plan/load.js';
import { compareObject } from '../../src/provision/compare-objects.js';
import type { DdlObject } from '../../src/provision/ddl-model.js';
import { renderDryRunFiles } from '../../src/provision/dry-run.js';
import { renderPostLoad } from '../../src/provision/render-post-load.js';
import { renderProvisionScript } from '../../src/provision/render-schema.js';
import { ORIGIN_FUNCTIONS } from '../../src/sync/replication-origin.js';
import { resolveRoleSecrets, scramVerifier } from '../../src/provision/role-secrets.js';
import { clipIdentifier, parseRenderedName, psqlConnect, psqlIf } from '../../src/provision/sql-text.js';
import type { TargetInventory } from '../../src/provision/target-inventory.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

const HOSTILE = 'x"; drop table y; --';

const catalog = catalogOf(
  [
    tableOf(HOSTILE, ['id', { name: 'a"b', type: 'text' }], { pk: ['id'] }),
    tableOf(
      'orders',
      [
        'id',
        'customer_id',
        { name: 'qty', notNull: true },
        { name: 'price', type: 'numeric(10,2)' },
        {
          name: 'total',
          type: 'numeric',
          generated: '((qty)::numeric * price)',
          dependsOn: ['qty', 'price'],
        },
        {
          name: 'status',
          type: 'public.status',
          userType: { schema: 'public', name: 'status', kind: 'enum' },
        },
        { name: 'secret', type: 'text' },
        {
          name: 'n',
          type: 'bigint',
          default: "nextval('public.order_n_seq'::regclass)",
          sequence: { schema: 'public', name: 'order_n_seq' },
        },
      ],
      {
        pk: ['id'],
        uniques: [{ name: 'orders_qty_n_key', columns: ['qty', 'n'] }],
        fks: [{ columns: ['customer_id'], references: HOSTILE }],
        checks: [
          { name: 'qty > 0', definition: 'CHECK ((qty > 0))', columns: ['qty'] },
          { name: 'secret_len', definition: 'CHECK ((length(secret) > 3))', columns: ['secret'] },
        ],
        indexes: [
          {
            name: 'orders by qty',
            usingClause: 'USING btree (qty)',
            referencedColumns: ['qty'],
            columns: ['qty'],
          },
          {
            name: 'orders_status',
            usingClause: 'USING btree (status)',
            referencedColumns: ['status'],
            columns: ['status'],
          },
          {
            name: 'orders_secret',
            usingClause: 'USING btree (secret)',
            referencedColumns: ['secret'],
            columns: ['secret'],
          },
        ],
      },
    ),
    tableOf('events', ['id', 'at'], {
      pk: ['id', 'at'],
      partitions: [{ schema: 'public', name: 'events_1' }],
    }),
    tableOf('events_1', ['id', 'at'], {
      pk: ['id', 'at'],
      kind: 'partition',
      parent: { schema: 'public', name: 'events' },
    }),
    tableOf('codes', ['id', 'label'], { pk: ['id'] }),
  ].map((t) =>
    t.name === 'events'
      ? { ...t, partitionKey: 'RANGE (at)' }
      : t.name === 'events_1'
        ? { ...t, partitionBound: 'DEFAULT' }
        : t,
  ),
  {
    enums: [{ oid: 1, schema: 'public', name: 'status', labels: ['new', "it's done"] }],
    sequences: [
      {
        schema: 'public',
        name: 'order_n_seq',
        dataType: 'bigint',
        start: '10',
        increment: '2',
        min: '1',
        max: '100',
        cache: '1',
        cycle: false,
        lastValue: null,
        identity: false,
      },
    ],
    extensions: [
      { name: 'plpgsql', schema: 'pg_catalog', version: '1.0' },
      { name: 'citext', schema: 'ext', version: '1.6' },
    ],
  },
);

const plan = `
name: unit
source: postgres://u@src/mono
target: postgres://admin@dst/postgres
services:
  shop:
    database: shop_db
    audit_table: shop_audit
    tables:
      '${HOSTILE.replaceAll("'", "''")}': {}
      orders: { columns: { quantity: { from: qty }, unit_price: { from: price } }, drop: [secret] }
      events: {}
  ref:
    database: ref_db
    readonly: true
    tables: { codes: {} }
projections:
  - { from: orders, to: ref.order_ids, columns: [id, { amount: price }] }
`;

function routingWith(yaml: string) {
  return buildRouting(parsePlan(yaml, { env: {} }), catalog);
}
const routing = routingWith(plan);
const script = renderProvisionScript(
  catalog,
  routing,
  new Map([['shop_service', 'SCRAM-SHA-256$4096:x$y:z']]),
);
const shop = script.databases[0]!;
const sql = (kind: string, name: string) =>
  shop.objects.find((o) => o.kind === kind && o.name === name)!.statements;

describe('renderProvisionScript', () => {
  it('renders roles with a SCRAM verifier only, and databases', () => {
    const carve = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';
    expect(script.roles.map((r) => r.statements)).toEqual([
      [`CREATE ROLE "shop_service" LOGIN PASSWORD 'SCRAM-SHA-256$4096:x$y:z'`],
      [`CREATE ROLE "carve_shop" ${carve}`],
      ['CREATE ROLE "ref_service" LOGIN'],
      [`CREATE ROLE "carve_ref" ${carve}`],
    ]);
    // carve's role has the service's rights (membership) and may apply in replica mode; the
    // readonly database's carve role is nobody's member.
    expect(script.roleGrants.map((g) => g.statements)).toEqual([
      [
        'GRANT "shop_service" TO "carve_shop"',
        'GRANT SET ON PARAMETER session_replication_role TO "carve_shop"',
      ],
      ['GRANT SET ON PARAMETER session_replication_role TO "carve_ref"'],
    ]);
    expect(shop.database.statements).toEqual(['CREATE DATABASE "shop_db"']);
  });

  it('orders objects: state schema, schemas, extensions, enums, sequences, tables, audit table', () => {
    expect(shop.objects.map((o) => `${o.kind} ${o.name}`)).toEqual([
      'schema carve',
      'schema ext',
      'extension citext',
      'enum public.status',
      'sequence public.order_n_seq',
      `table public.${HOSTILE}`,
      'table public.orders',
      'table public.events',
      'audit-table public.shop_audit',
    ]);
    expect(sql('enum', 'public.status')).toEqual([
      `CREATE TYPE "public"."status" AS ENUM ('new', 'it''s done')`,
    ]);
    expect(sql('sequence', 'public.order_n_seq')).toEqual([
      'CREATE SEQUENCE "public"."order_n_seq" AS bigint INCREMENT BY 2 MINVALUE 1 MAXVALUE 100 START WITH 10 CACHE 1 NO CYCLE',
    ]);
    expect(sql('extension', 'citext')).toEqual(['CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "ext"']);
  });

  it('quotes hostile identifiers', () => {
    expect(sql('table', `public.${HOSTILE}`)).toEqual([
      `CREATE TABLE "public"."x""; drop table y; --" (\n  "id" integer,\n  "a""b" text,\n  CONSTRAINT "x""; drop table y; --_pkey" PRIMARY KEY (id)\n)`,
    ]);
  });

  it('creates with source column names, then renames; drops columns and the checks reading them', () => {
    const statements = sql('table', 'public.orders');
    expect(statements[0]).toContain('"qty" integer NOT NULL');
    expect(statements[0]).toContain('"total" numeric GENERATED ALWAYS AS (((qty)::numeric * price)) STORED');
    expect(statements[0]).toContain(`"n" bigint DEFAULT nextval('public.order_n_seq'::regclass)`);
    expect(statements[0]).toContain('CONSTRAINT "qty > 0" CHECK ((qty > 0))');
    expect(statements[0]).not.toContain('secret');
    expect(statements.slice(1)).toEqual([
      'ALTER TABLE "public"."orders" RENAME COLUMN "qty" TO "quantity"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "price" TO "unit_price"',
    ]);
  });

  it('goes through temporary names when renames chain or swap', () => {
    const swapped = routingWith(
      plan.replace(
        'quantity: { from: qty }, unit_price: { from: price }',
        'qty: { from: price }, price: { from: qty }',
      ),
    );
    const statements = renderProvisionScript(catalog, swapped, new Map()).databases[0]!.objects.find(
      (o) => o.name === 'public.orders',
    )!.statements;
    expect(statements.filter((s) => s.includes('RENAME'))).toEqual([
      'ALTER TABLE "public"."orders" RENAME COLUMN "qty" TO "carve_rename_0"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "price" TO "carve_rename_1"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "carve_rename_0" TO "price"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "carve_rename_1" TO "qty"',
    ]);
  });

  it('renders partitioned tables with their partitions', () => {
    expect(sql('table', 'public.events')).toEqual([
      'CREATE TABLE "public"."events" (\n  "id" integer,\n  "at" integer,\n  CONSTRAINT "events_pkey" PRIMARY KEY (id, at)\n) PARTITION BY RANGE (at)',
      'CREATE TABLE "public"."events_1" PARTITION OF "public"."events" DEFAULT',
    ]);
  });

  it('renders projections as plain typed columns with the key as primary key', () => {
    const ref = script.databases[1]!;
    expect(ref.objects.find((o) => o.name === 'public.order_ids')!.statements).toEqual([
      'CREATE TABLE "public"."order_ids" (\n  "id" integer,\n  "amount" numeric(10,2),\n  CONSTRAINT "order_ids_pkey" PRIMARY KEY ("id")\n)',
    ]);
  });

  it('grants: own tables and partitions owned, readonly database readable by all, CONNECT revoked from PUBLIC', () => {
    const carveCommon = (role: string) => [
      `GRANT CONNECT ON DATABASE "${role === 'carve_shop' ? 'shop_db' : 'ref_db'}" TO "${role}"`,
      `ALTER SCHEMA "carve" OWNER TO "${role}"`,
      expect.stringMatching(
        /^DO \$carve\$ .*ALTER TABLE %s OWNER TO %I.*'carve_(shop|ref)'\); END LOOP; END \$carve\$$/,
      ),
      ...ORIGIN_FUNCTIONS.map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO "${role}"`),
    ];
    expect(shop.grants).toEqual([
      'REVOKE ALL ON DATABASE "shop_db" FROM PUBLIC',
      'REVOKE ALL ON SCHEMA "carve" FROM PUBLIC',
      ...carveCommon('carve_shop'),
      'GRANT CONNECT, TEMPORARY ON DATABASE "shop_db" TO "shop_service"',
      'GRANT USAGE, CREATE ON SCHEMA "public" TO "shop_service"',
      'GRANT USAGE ON SCHEMA "public" TO "carve_shop"',
      'ALTER TABLE "public"."x""; drop table y; --" OWNER TO "shop_service"',
      'ALTER TABLE "public"."orders" OWNER TO "shop_service"',
      'ALTER TABLE "public"."events" OWNER TO "shop_service"',
      'ALTER TABLE "public"."events_1" OWNER TO "shop_service"',
      'GRANT USAGE, SELECT, UPDATE ON SEQUENCE "public"."order_n_seq" TO "shop_service"',
      'ALTER TABLE "public"."shop_audit" OWNER TO "shop_service"',
    ]);
    expect(script.databases[1]!.grants).toEqual([
      'REVOKE ALL ON DATABASE "ref_db" FROM PUBLIC',
      'REVOKE ALL ON SCHEMA "carve" FROM PUBLIC',
      ...carveCommon('carve_ref'),
      'GRANT CONNECT ON DATABASE "ref_db" TO "shop_service", "ref_service"',
      'GRANT USAGE ON SCHEMA "public" TO "shop_service", "ref_service"',
      'GRANT USAGE, CREATE ON SCHEMA "public" TO "carve_ref"',
      'ALTER TABLE "public"."codes" OWNER TO "carve_ref"',
      'GRANT SELECT ON TABLE "public"."codes" TO "shop_service", "ref_service"',
      'ALTER TABLE "public"."order_ids" OWNER TO "carve_ref"',
      'GRANT SELECT ON TABLE "public"."order_ids" TO "shop_service", "ref_service"',
    ]);
  });
});

describe('renderPostLoad', () => {
  const objects = renderPostLoad(routing.services[0]!);

  it('builds indexes on renamed columns under their source names inside one transaction; skips dropped ones', () => {
    expect(objects.filter((o) => o.kind === 'index').map((o) => o.name)).toEqual([
      'public.orders_qty_n_key',
      'public.orders by qty',
      'public.orders_status',
    ]);
    const byQty = objects.find((o) => o.name === 'public.orders by qty')!;
    expect(byQty.kind === 'index' && byQty.statements).toEqual([
      'BEGIN',
      'ALTER TABLE "public"."orders" RENAME COLUMN "quantity" TO "qty"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "unit_price" TO "price"',
      'CREATE INDEX IF NOT EXISTS "orders by qty" ON "public"."orders" USING btree (qty)',
      'ALTER TABLE "public"."orders" RENAME COLUMN "qty" TO "quantity"',
      'ALTER TABLE "public"."orders" RENAME COLUMN "price" TO "unit_price"',
      'COMMIT',
    ]);
    const status = objects.find((o) => o.name === 'public.orders_status')!;
    expect(status.kind === 'index' && status.statements).toEqual([
      'CREATE INDEX IF NOT EXISTS "orders_status" ON "public"."orders" USING btree (status)',
    ]);
  });

  it('adds unique keys after the load (not in CREATE TABLE), under source column names', () => {
    const unique = objects.find((o) => o.name === 'public.orders_qty_n_key')!;
    expect(unique.kind === 'index' && [unique.index, unique.statements]).toEqual([
      'orders_qty_n_key',
      [
        'BEGIN',
        'ALTER TABLE "public"."orders" RENAME COLUMN "quantity" TO "qty"',
        'ALTER TABLE "public"."orders" RENAME COLUMN "unit_price" TO "price"',
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_qty_n_key" UNIQUE (qty, n)',
        'ALTER TABLE "public"."orders" RENAME COLUMN "qty" TO "quantity"',
        'ALTER TABLE "public"."orders" RENAME COLUMN "price" TO "unit_price"',
        'COMMIT',
      ],
    ]);
    // Built before the foreign keys, which may reference it.
    const kinds = objects.map((o) => o.kind);
    expect(kinds.indexOf('foreign-key')).toBeGreaterThan(objects.indexOf(unique));
    const table = script.databases[0]!.objects.find((o) => o.kind === 'table' && o.name === 'public.orders')!;
    expect(table.kind === 'table' && table.statements.join('\n')).not.toContain('orders_qty_n_key');
  });

  it('adds kept foreign keys NOT VALID, then validates them', () => {
    const fk = objects.find((o) => o.kind === 'foreign-key')!;
    expect(fk.kind === 'foreign-key' && [fk.add, fk.validate]).toEqual([
      [
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "public"."x""; drop table y; --" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID',
      ],
      ['ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_customer_id_fkey"'],
    ]);
  });
});

describe('dry-run files', () => {
  it('are numbered by service order, connect to their database, guard roles and databases', () => {
    const files = renderDryRunFiles(script, routing);
    expect(files.map((f) => f.name)).toEqual([
      '00_roles.sql',
      '01_create_shop_schema.sql',
      '02_create_ref_schema.sql',
      '03_grants.sql',
      '04_post_load_shop.sql',
      '05_post_load_ref.sql',
    ]);
    expect(files[0]!.content).toContain(
      `SELECT 'CREATE ROLE "shop_service" LOGIN PASSWORD ''SCRAM-SHA-256$4096:x$y:z''' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'shop_service')\\gexec`,
    );
    expect(files[1]!.content).toContain(`\\connect -reuse-previous=on 'dbname=''shop_db'''\nBEGIN;\n`);
    expect(files[1]!.content.trimEnd().endsWith('COMMIT;')).toBe(true);
    expect(files[4]!.content).toContain('VALIDATE CONSTRAINT');
  });
});

describe('compareObject', () => {
  const inventory = (over: Partial<TargetInventory>): TargetInventory => ({
    catalog: catalogOf([]),
    schemas: new Set(['public']),
    relations: new Map(),
    types: new Map(),
    extensions: new Map(),
    ...over,
  });
  const enumObject = shop.objects.find((o) => o.kind === 'enum') as DdlObject;
  const tableObject = shop.objects.find((o) => o.name === 'public.orders') as DdlObject;

  it('missing, identical, or conflicting enum', () => {
    expect(compareObject(enumObject, inventory({}))).toEqual({ state: 'missing' });
    const same = inventory({
      types: new Map([['public.status', 'e']]),
      catalog: catalogOf([], { enums: catalog.enums }),
    });
    expect(compareObject(enumObject, same)).toEqual({ state: 'present' });
    const other = inventory({
      types: new Map([['public.status', 'e']]),
      catalog: catalogOf([], { enums: [{ ...catalog.enums[0]!, labels: ['new'] }] }),
    });
    expect(compareObject(enumObject, other)).toMatchObject({
      state: 'conflict',
      reasons: [expect.stringContaining('labels (new)')],
    });
    expect(compareObject(enumObject, inventory({ types: new Map([['public.status', 'd']]) }))).toMatchObject({
      state: 'conflict',
    });
  });

  it('a same-named relation that is not our table conflicts, naming what differs', () => {
    expect(
      compareObject(tableObject, inventory({ relations: new Map([['public.orders', 'v']]) })),
    ).toMatchObject({
      state: 'conflict',
      reasons: ['public.orders exists but is not a table (relkind v)'],
    });
    const stranger = catalogOf([tableOf('orders', ['id', 'other'], { pk: ['id'] })]);
    const result = compareObject(
      tableObject,
      inventory({ relations: new Map([['public.orders', 'r']]), catalog: stranger }),
    );
    expect(result.state).toBe('conflict');
    expect(result.state === 'conflict' && result.reasons[0]).toContain('has columns (id, other)');
  });
});

describe('sql-text and secrets', () => {
  it('parses names as PostgreSQL renders them', () => {
    expect(parseRenderedName('public."Order ""Status"""[]')).toEqual({
      schema: 'public',
      name: 'Order "Status"',
    });
    expect(parseRenderedName('numeric(12,2)')).toEqual({ name: 'numeric' });
    expect(parseRenderedName('"a.b".c')).toEqual({ schema: 'a.b', name: 'c' });
  });

  it('clips generated names to 63 bytes on a character boundary', () => {
    expect(Buffer.byteLength(clipIdentifier(`${'é'.repeat(40)}_pkey`))).toBe(62);
    expect(clipIdentifier('short_pkey')).toBe('short_pkey');
  });

  it('writes psql guards and connects with quoted names', () => {
    expect(psqlIf('true', `CREATE ROLE "o'k"`)).toBe(`SELECT 'CREATE ROLE "o''k"' WHERE true\\gexec`);
    expect(psqlConnect('we ird"db')).toBe(`\\connect -reuse-previous=on 'dbname=''we ird"db'''`);
    // psql reads '' as ' and \\ as \; libpq then reads \' and \\ inside the quoted value.
    expect(psqlConnect(`a'b\\c=d`)).toBe(`\\connect -reuse-previous=on 'dbname=''a\\\\''b\\\\\\\\c=d'''`);
  });

  it('computes SCRAM-SHA-256 verifiers (RFC 7677 test vector)', () => {
    // RFC 7677 §3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const verifier = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    expect(verifier).toBe(
      'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
    );
  });

  it('refuses, before writing anything, when a password variable is unset', () => {
    expect(() =>
      resolveRoleSecrets(
        [{ ...routing.services[0]!, passwordEnv: 'NOPE_PW', carvePasswordEnv: 'NOPE_CARVE_PW' }],
        { secretsDir: '/nonexistent/never', env: {} },
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'PROVISION_PASSWORD_ENV',
        details: { variables: ['NOPE_PW', 'NOPE_CARVE_PW'], roles: ['shop_service', 'carve_shop'] },
      }),
    );
    const fromEnv = resolveRoleSecrets(
      [{ ...routing.services[0]!, passwordEnv: 'PW', carvePasswordEnv: 'CARVE_PW' }],
      { secretsDir: '/nonexistent/never', env: { PW: 'pencil', CARVE_PW: 'crayon' } },
    );
    expect(fromEnv.written).toEqual([]);
    expect(fromEnv.verifiers.get('shop_service')).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(fromEnv.verifiers.get('carve_shop')).toMatch(/^SCRAM-SHA-256\$4096:/);
  });
});
