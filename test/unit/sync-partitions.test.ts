import { describe, expect, it } from 'vitest';
import type { CatalogTable } from '../../src/catalog/model.js';
import { routeChange, type RoutedChange } from '../../src/sync/route-change.js';
import { partitionRootOf, planRelation, renderPartitionChain } from '../../src/sync/route-plan.js';
import { column, relationOf, route, routing, table } from '../support/sync-routes.js';

// events(id, at, kind) partitioned, owned in a with `at` renamed; events_2024 a leaf known to the
// catalog; `other` a plain routed table.
const cols = [column('id', 'bigint', { notNull: true }), column('at', 'bigint'), column('kind', 'text')];
const events: CatalogTable = {
  ...table('public', 'events', cols, ['id']),
  kind: 'partitioned',
  partitionKey: 'RANGE (at)',
};
const leaf: CatalogTable = {
  ...table('public', 'events_2024', cols, ['id']),
  kind: 'partition',
  parent: { schema: 'public', name: 'events' },
};
const other = table('public', 'other', cols, ['id']);
const owned = {
  ...route(events, { database: 'a', renames: { at: 'happened_at' } }),
  sourcePartitions: [{ schema: 'public', name: 'events_2024' }],
  partitionTree: [{ table: leaf, keys: [], indexes: [], checks: [], notNull: [] }],
};
const r = routing([owned, route(other, { database: 'a' })]);
const root = { schema: 'public', name: 'events' };

describe('partitions in the stream', () => {
  it('recognises a leaf from the catalog, or by following its root’s Relation message', () => {
    expect(partitionRootOf(relationOf(leaf), r, undefined)).toEqual(root);
    const created = { ...relationOf(leaf), relationId: 99, name: 'events_2031' };
    expect(partitionRootOf(created, r, root)).toEqual(root);
    // Not after a partitioned table's Relation, or after a plain table's: not a partition.
    expect(partitionRootOf(created, r, undefined)).toBeUndefined();
    expect(partitionRootOf(created, r, { schema: 'public', name: 'other' })).toBeUndefined();
    // A routed table is never taken for a partition.
    expect(partitionRootOf(relationOf(other), r, root)).toBeUndefined();
  });

  it('plans a leaf whose columns are in another order as its root, by its own column positions', () => {
    const reordered = { ...relationOf(leaf), columns: [...relationOf(leaf).columns].reverse() };
    const result = planRelation(reordered, r, new Map(), root);
    if (result.kind !== 'plan') throw new Error('expected a plan');
    expect(result.plan.source).toEqual(root);
    expect(result.plan.routes.map((p) => p.route.id)).toEqual(['a/public.events']);
    const out: RoutedChange[] = [];
    routeChange(
      result.plan,
      { tag: 'insert', relationId: reordered.relationId, newTuple: ['k', '2024', '7'] },
      out,
    );
    expect(
      out.map((c) => [c.kind, c.key, c.plan.columns.map((col) => col.target), 'values' in c ? c.values : []]),
    ).toEqual([['upsert', '7', ['id', 'happened_at', 'kind'], ['7', '2024', 'k']]]);
  });

  it('renders a new partition chain under the renamed root, parents first', () => {
    expect(
      renderPartitionChain(owned, [
        {
          table: { schema: 'public', name: 'events_2031' },
          parent: root,
          bound: 'FOR VALUES FROM (2031) TO (2032)',
          partitionKey: 'RANGE (at)',
        },
        {
          table: { schema: 'Part "s"', name: 'events_2031_a' },
          parent: { schema: 'public', name: 'events_2031' },
          bound: 'DEFAULT',
          partitionKey: null,
        },
      ]),
    ).toEqual([
      {
        table: { schema: 'public', name: 'events_2031' },
        parent: { schema: 'public', name: 'events' },
        statement:
          'CREATE TABLE "public"."events_2031" PARTITION OF "public"."events" FOR VALUES FROM (2031) TO (2032) PARTITION BY RANGE (at)',
      },
      {
        table: { schema: 'Part "s"', name: 'events_2031_a' },
        parent: { schema: 'public', name: 'events_2031' },
        statement: 'CREATE TABLE "Part ""s"""."events_2031_a" PARTITION OF "public"."events_2031" DEFAULT',
      },
    ]);
  });
});
