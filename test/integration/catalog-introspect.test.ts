import { beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog, CatalogTable } from '../../src/catalog/model.js';
import { withClient } from '../../src/pg/connect.js';
import {
  createEdgeCaseSchema,
  EDGE_CASE_TABLES,
  EVENTS_LEAVES,
  HOSTILE_COLUMN,
  HOSTILE_TABLE,
  MIXED_SCHEMA,
  ORDER_ITEMS,
  ORDER_STATUS,
} from '../fixtures/edge-case-schema.js';
import { createDatabase, useCluster } from '../support/cluster.js';

let catalog: Catalog;
let url: string;

function table(schema: string, name: string): CatalogTable {
  const found = catalog.tables.find((t) => t.schema === schema && t.name === name);
  if (!found) throw new Error(`no table ${schema}.${name}`);
  return found;
}

beforeAll(async () => {
  const pg = await useCluster({ name: 'catalog' });
  url = await createDatabase(pg, 'edge');
  await withClient(url, async (c) => {
    await createEdgeCaseSchema(c);
    // Objects that must NOT show up: an extension's own table-free objects, a temp table.
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  });
  catalog = await withClient(url, (c) => introspect(c));
});

describe('introspect on the edge-case schema', () => {
  it('finds every table, partition and schema, and nothing else', () => {
    const names = catalog.tables.map((t) => [t.schema, t.name, t.kind]).sort();
    expect(names).toEqual(EDGE_CASE_TABLES.map((t) => [t.schema, t.name, t.kind]).sort());
    expect(catalog.schemas).toEqual([MIXED_SCHEMA, 'public']);
    expect(catalog.database).toBe('edge');
    expect(catalog.serverVersionNum).toBeGreaterThanOrEqual(150000);
    expect(catalog.extensions.map((e) => e.name).sort()).toEqual(['citext', 'pg_trgm', 'plpgsql']);
  });

  it('is deep-frozen', () => {
    expect(Object.isFrozen(catalog)).toBe(true);
    expect(Object.isFrozen(catalog.tables[0]!.columns[0])).toBe(true);
    expect(() => (catalog.tables as CatalogTable[]).push({} as CatalogTable)).toThrow();
  });

  it('reads hostile and mixed-case identifiers verbatim', () => {
    const hostile = table('public', HOSTILE_TABLE);
    expect(hostile.columns.map((c) => c.name)).toEqual(['id', HOSTILE_COLUMN, 'payload', 'matrix']);
    expect(hostile.columns[1]!.default).toBe(`'a''b"c'::text`);
    expect(hostile.primaryKey).toMatchObject({ name: `${HOSTILE_TABLE}_pkey`, columns: ['id'] });
    const customers = table(MIXED_SCHEMA, 'Customers');
    expect(customers.columns.map((c) => c.name)).toEqual([
      'id',
      'Name',
      'email',
      'login',
      'tags',
      'created_at',
    ]);
    expect(customers.indexes.find((i) => i.name === 'Customers lower name')).toMatchObject({
      isExpressionOrPartial: true,
      usingClause: 'USING btree (lower("Name"))',
      referencedColumns: ['Name'],
    });
  });

  it('reads types, defaults, identity, generated columns, collations and arrays', () => {
    const customers = table(MIXED_SCHEMA, 'Customers');
    const col = (t: CatalogTable, n: string) => t.columns.find((c) => c.name === n)!;
    expect(col(customers, 'id')).toMatchObject({
      identity: 'always',
      notNull: true,
      sequence: { schema: MIXED_SCHEMA, name: 'Customers_id_seq' },
    });
    expect(col(customers, 'id').default).toBeUndefined();
    expect(col(customers, 'email')).toMatchObject({
      type: 'public.email',
      userType: { schema: 'public', name: 'email', kind: 'domain' },
    });
    expect(col(customers, 'login').type).toBe('public.citext');
    expect(col(customers, 'login').userType).toBeUndefined(); // provided by an extension
    expect(col(customers, 'tags')).toMatchObject({ type: 'text[]', default: `'{}'::text[]`, storage: 'x' });

    const items = table('public', ORDER_ITEMS);
    expect(col(items, 'status')).toMatchObject({
      type: `public."${ORDER_STATUS}"`,
      userType: { kind: 'enum', name: ORDER_STATUS },
      default: `'new'::public."${ORDER_STATUS}"`,
    });
    expect(col(items, 'total')).toMatchObject({
      generated: '((quantity)::numeric * unit_price)',
      dependsOn: ['quantity', 'unit_price'],
    });
    expect(col(items, 'total').default).toBeUndefined();
    expect(col(items, 'id')).toMatchObject({
      type: 'bigint',
      default: `nextval('public."Order Items_id_seq"'::regclass)`,
      sequence: { schema: 'public', name: 'Order Items_id_seq' },
    });
    expect(col(items, 'ticket').sequence).toEqual({ schema: 'public', name: 'ticket_seq' });
    expect(col(table('public', 'categories'), 'label')).toMatchObject({
      type: 'character varying(80)',
      collation: 'pg_catalog."C"',
    });
    expect(col(table('public', HOSTILE_TABLE), 'matrix').type).toBe('integer[]');
  });

  it('reads keys, foreign keys, checks and indexes', () => {
    const items = table('public', ORDER_ITEMS);
    expect(items.uniqueKeys).toEqual([
      { name: 'Order Items ticket unique', columns: ['ticket'], definition: 'UNIQUE (ticket)' },
    ]);
    const byName = Object.fromEntries(items.foreignKeys.map((f) => [f.name, f]));
    expect(byName['Order Items_customer_id_fkey']).toMatchObject({
      columns: ['customer_id'],
      references: { schema: MIXED_SCHEMA, name: 'Customers' },
      referencedColumns: ['id'],
      onDelete: 'cascade',
      onUpdate: 'no action',
      deferrable: false,
      validated: true,
      definition: 'FOREIGN KEY (customer_id) REFERENCES "Sales"."Customers"(id) ON DELETE CASCADE',
    });
    expect(byName['Order Items_category_id_fkey']).toMatchObject({
      deferrable: true,
      initiallyDeferred: true,
    });
    expect(items.checks).toEqual([
      { name: 'quantity > 0', definition: 'CHECK ((quantity > 0))', validated: true, columns: ['quantity'] },
    ]);
    const partial = items.indexes.find((i) => i.name === 'order_items_open')!;
    expect(partial).toMatchObject({ isExpressionOrPartial: true, unique: false, columns: ['id'] });
    expect(partial.referencedColumns).toEqual(['id', 'status']);
    const pk = items.indexes.find((i) => i.primary)!;
    expect(pk).toMatchObject({ name: 'Order Items_pkey', constraint: 'Order Items_pkey', unique: true });
    const self = table('public', 'categories').foreignKeys[0]!;
    expect(self.references).toEqual({ schema: 'public', name: 'categories' });
  });

  it('reads replica identity and key-less tables', () => {
    expect(table('public', 'legacy_codes')).toMatchObject({
      replicaIdentity: 'index',
      replicaIdentityIndex: 'legacy_codes_code_key',
    });
    expect(table('public', 'legacy_codes').primaryKey).toBeUndefined();
    expect(table('public', 'full_identity_only').replicaIdentity).toBe('full');
    expect(table('public', 'no_key_at_all')).toMatchObject({ replicaIdentity: 'default', uniqueKeys: [] });
    expect(table('public', 'cache_entries').unlogged).toBe(true);
    expect(table('public', 'documents').columns[0]).toMatchObject({
      type: 'uuid',
      default: 'gen_random_uuid()',
    });
  });

  it('reads partitioning: parent key, leaf bounds, and sizes rolled up to the parent', () => {
    const events = table('public', 'events');
    expect(events).toMatchObject({ kind: 'partitioned', partitionKey: 'RANGE (recorded_at)' });
    expect(events.partitions.map((p) => p.name)).toEqual(EVENTS_LEAVES);
    expect(table('public', 'events_2025')).toMatchObject({
      kind: 'partition',
      partitionKey: 'RANGE (recorded_at)',
      parent: { schema: 'public', name: 'events' },
    });
    expect(table('public', 'events_2025_h1').parent).toEqual({ schema: 'public', name: 'events_2025' });
    const leaf = table('public', 'events_2024');
    expect(leaf).toMatchObject({ kind: 'partition', parent: { schema: 'public', name: 'events' } });
    expect(leaf.partitionBound).toBe(
      "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
    );
    expect(table('public', 'events_default').partitionBound).toBe('DEFAULT');
    expect(events.rowEstimate).toBe(4);
    const leaves = events.partitions.map((p) => table(p.schema, p.name));
    expect(events.totalBytes).toBe(leaves.reduce((a, l) => a + l.totalBytes, 0));
    expect(events.totalBytes).toBeGreaterThan(0);
    expect(events.indexes.find((i) => i.name === 'events_kind')!.usingClause).toBe('USING btree (kind)');
  });

  it('tells objects declared on a partition from those it inherits', () => {
    const declared = (t: CatalogTable) => [
      ...[t.primaryKey, ...t.uniqueKeys].filter((k) => k && !k.inherited).map((k) => `key ${k!.name}`),
      ...t.indexes.filter((i) => !i.inherited).map((i) => `index ${i.name}`),
      ...t.checks.filter((c) => !c.inherited).map((c) => `check ${c.name}`),
      ...t.foreignKeys.map((f) => `fk ${f.name}`),
    ];
    expect(declared(table('public', 'events_2024')).sort()).toEqual([
      'check events_2024_kind_set',
      'fk events_2024_category',
      'index events_2024_data',
    ]);
    expect(declared(table('public', 'events_2025'))).toEqual(['fk events_2025_document']);
    // The key's index is the constraint's; a key names it, not the index list.
    expect(declared(table('public', 'events_2025_h1')).sort()).toEqual([
      'index events_2025_h1_id_key',
      'key events_2025_h1_id_key',
    ]);
    expect(declared(table('public', 'events_2025_h2'))).toEqual([]);
    expect(declared(table('public', 'events_default'))).toEqual(['index events_default_late']);
    // Inherited: the primary key and events_kind's partition index, on every leaf.
    const h2 = table('public', 'events_2025_h2');
    expect(h2.primaryKey).toMatchObject({ inherited: true });
    expect(h2.indexes.every((i) => i.inherited)).toBe(true);
    expect(h2.indexes).toHaveLength(2);
    expect(
      table('public', 'event_notes')
        .foreignKeys.map((f) => [f.name, f.references.name])
        .sort(),
    ).toEqual([
      ['event_notes_2024', 'events_2024'],
      ['event_notes_event_id_recorded_at_fkey', 'events'],
    ]);
  });

  it('reads sequences with owner and identity flag, enums in label order, domains with checks', () => {
    const seq = (name: string) => catalog.sequences.find((s) => s.name === name)!;
    expect(seq('ticket_seq')).toMatchObject({
      start: '1000',
      increment: '5',
      lastValue: '1010',
      identity: false,
    });
    expect(seq('ticket_seq').ownedBy).toBeUndefined();
    expect(seq('Customers_id_seq')).toMatchObject({
      identity: true,
      ownedBy: { schema: MIXED_SCHEMA, name: 'Customers', column: 'id' },
      lastValue: '3',
    });
    expect(seq('Order Items_id_seq')).toMatchObject({ identity: false, dataType: 'bigint' });
    expect(catalog.enums).toEqual([
      expect.objectContaining({
        schema: 'public',
        name: ORDER_STATUS,
        labels: ['new', 'paid', "it's shipped", 'Cancelled'],
      }),
    ]);
    const amount = catalog.domains.find((d) => d.name === 'positive_amount')!;
    expect(amount).toMatchObject({
      baseType: 'numeric(12,2)',
      notNull: true,
      default: '0',
      checks: [{ name: 'positive_amount_check', definition: 'CHECK ((VALUE >= (0)::numeric))' }],
    });
  });

  it('sees TOAST and row estimates', () => {
    const docs = table('public', 'documents');
    expect(docs.toastBytes).toBeGreaterThan(docs.heapBytes);
    expect(docs.rowEstimate).toBe(2);
    expect(docs.pages).toBeGreaterThan(0);
  });

  it('leaves the search_path of a caller transaction as it was', async () => {
    await withClient(url, async (c) => {
      await c.query('BEGIN');
      await c.query(`SET LOCAL search_path = "Sales", public`);
      const again = await introspect(c, { ownTransaction: false });
      expect(again.tables.length).toBe(catalog.tables.length);
      expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('"Sales", public');
      await c.query('COMMIT');
    });
  });
});
