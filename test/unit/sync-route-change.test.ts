import { describe, expect, it } from 'vitest';
import { UNCHANGED_TOAST, type Tuple } from '../../src/sync/pgoutput/messages.js';
import { routeChange, type RoutedChange } from '../../src/sync/route-change.js';
import { planRelation, type RelationPlan } from '../../src/sync/route-plan.js';
import { column, relationOf, route, routing, table } from '../support/sync-routes.js';

const U = UNCHANGED_TOAST;

// patients(id, name, notes, counter, upper_name GENERATED): owner in a, projection (id, name) in b.
const patients = table(
  'public',
  'patients',
  [
    column('id', 'bigint', { notNull: true }),
    column('name', 'text'),
    column('notes', 'text'),
    column('counter', 'integer'),
    column('upper_name', 'text', { generated: 'upper(name)' }),
  ],
  ['id'],
);
const r = routing([
  route(patients, { database: 'a', renames: { name: 'full_name' }, generated: ['upper_name'] }),
  route(patients, { database: 'b', kind: 'projection', target: 'names', columns: ['id', 'name'] }),
]);

function plan(replicaIdentity: 'default' | 'full' = 'default'): RelationPlan {
  const result = planRelation({ ...relationOf(patients), replicaIdentity }, r, new Map());
  if (result.kind !== 'plan') throw new Error('expected a plan');
  return result.plan;
}

function route1(message: Parameters<typeof routeChange>[1], p = plan()): RoutedChange[] {
  const out: RoutedChange[] = [];
  routeChange(p, message, out);
  return out;
}

const summary = (changes: RoutedChange[]) =>
  changes.map((c) => ({
    db: c.plan.database,
    kind: c.kind,
    key: c.key,
    ...('values' in c ? { values: c.values } : {}),
    ...('keyValues' in c ? { keyValues: c.keyValues } : {}),
    ...('oldKey' in c ? { oldKey: c.oldKey } : {}),
  }));

describe('routeChange', () => {
  it('maps an insert to every route, renamed and subset, without generated columns', () => {
    const changes = route1({ tag: 'insert', relationId: 16384, newTuple: ['1', 'Ann', null, '0'] });
    expect(summary(changes)).toEqual([
      { db: 'a', kind: 'upsert', key: '1', values: ['1', 'Ann', null, '0'] },
      { db: 'b', kind: 'upsert', key: '1', values: ['1', 'Ann'] },
    ]);
    expect(changes[0]!.plan.columns.map((c) => c.target)).toEqual(['id', 'full_name', 'notes', 'counter']);
  });

  it('turns an update with unchanged TOAST into a patch for the owner only when the projection has all it needs', () => {
    const newTuple: Tuple = ['1', 'Ann', U, '5'];
    expect(
      summary(route1({ tag: 'update', relationId: 16384, oldKind: null, oldTuple: null, newTuple })),
    ).toEqual([
      { db: 'a', kind: 'patch', key: '1', values: ['1', 'Ann', undefined, '5'] },
      { db: 'b', kind: 'upsert', key: '1', values: ['1', 'Ann'] },
    ]);
  });

  it('turns a key change into delete + upsert, or a move when TOAST values were not sent', () => {
    const oldTuple: Tuple = ['1', null, null, null];
    expect(
      summary(
        route1({
          tag: 'update',
          relationId: 16384,
          oldKind: 'key',
          oldTuple,
          newTuple: ['2', 'Ann', 'x', '1'],
        }),
      ),
    ).toEqual([
      { db: 'a', kind: 'delete', key: '1', keyValues: ['1'] },
      { db: 'a', kind: 'upsert', key: '2', values: ['2', 'Ann', 'x', '1'] },
      { db: 'b', kind: 'delete', key: '1', keyValues: ['1'] },
      { db: 'b', kind: 'upsert', key: '2', values: ['2', 'Ann'] },
    ]);
    expect(
      summary(
        route1({
          tag: 'update',
          relationId: 16384,
          oldKind: 'key',
          oldTuple,
          newTuple: ['2', 'Ann', U, '1'],
        }),
      ),
    ).toEqual([
      { db: 'a', kind: 'move', key: '2', oldKey: '1', values: ['2', 'Ann', undefined, '1'] },
      { db: 'b', kind: 'delete', key: '1', keyValues: ['1'] },
      { db: 'b', kind: 'upsert', key: '2', values: ['2', 'Ann'] },
    ]);
  });

  it('with REPLICA IDENTITY FULL fills unsent values from the old row and skips routes whose columns did not change', () => {
    const full = plan('full');
    const changes = route1(
      {
        tag: 'update',
        relationId: 16384,
        oldKind: 'full',
        oldTuple: ['1', 'Ann', 'long', '4'],
        newTuple: ['1', 'Ann', U, '5'],
      },
      full,
    );
    expect(summary(changes)).toEqual([
      { db: 'a', kind: 'upsert', key: '1', values: ['1', 'Ann', 'long', '5'] },
    ]);
  });

  it('sends nothing for an update that left every routed non-key column unsent', () => {
    const changes = route1({
      tag: 'update',
      relationId: 16384,
      oldKind: null,
      oldTuple: null,
      newTuple: ['1', U, U, U],
    });
    expect(changes).toEqual([]);
  });

  it('deletes by the old key on every route', () => {
    expect(
      summary(
        route1({ tag: 'delete', relationId: 16384, oldKind: 'key', oldTuple: ['7', null, null, null] }),
      ),
    ).toEqual([
      { db: 'a', kind: 'delete', key: '7', keyValues: ['7'] },
      { db: 'b', kind: 'delete', key: '7', keyValues: ['7'] },
    ]);
  });
});

describe('planRelation', () => {
  it('stops on an added column naming table and column, or asks to add it when the plan allows', () => {
    const relation = relationOf(patients, {
      extra: [{ name: 'extra', flags: 0, isKey: false, typeOid: 23, typeMod: -1 }],
    });
    expect(() => planRelation(relation, routing(r.routes, 'stop'), new Map())).toThrow(
      expect.objectContaining({
        code: 'SYNC_SCHEMA_CHANGED',
        details: expect.objectContaining({
          table: 'public.patients',
          column: 'extra',
          change: 'column-added',
        }),
      }),
    );
    const lenient = routing(r.routes, 'apply_compatible');
    expect(planRelation(relation, lenient, new Map())).toEqual({
      kind: 'add-columns',
      columns: [{ table: { schema: 'public', name: 'patients' }, column: 'extra', typeOid: 23, typeMod: -1 }],
    });
    const added = planRelation(
      relation,
      lenient,
      new Map([['["public","patients"]', new Map([['extra', 'integer']])]]),
    );
    expect(added.kind === 'plan' && added.plan.routes.map((p) => p.columns.map((c) => c.target))).toEqual([
      ['id', 'full_name', 'notes', 'counter', 'extra'],
      ['id', 'name'],
    ]);
  });

  it('stops on a dropped or retyped routed column, and on an unrouted table', () => {
    expect(() =>
      planRelation(relationOf(patients, { skip: ['notes'] }), routing(r.routes, 'stop'), new Map()),
    ).toThrow(
      expect.objectContaining({
        code: 'SYNC_SCHEMA_CHANGED',
        details: expect.objectContaining({ column: 'notes', change: 'column-dropped' }),
      }),
    );
    const retyped = relationOf(patients);
    retyped.columns[3] = { ...retyped.columns[3]!, typeOid: 20 };
    expect(() => planRelation(retyped, r, new Map())).toThrow(
      expect.objectContaining({
        code: 'SYNC_SCHEMA_CHANGED',
        details: expect.objectContaining({ column: 'counter', change: 'type-changed' }),
      }),
    );
    expect(() => planRelation({ ...relationOf(patients), name: 'other' }, r, new Map())).toThrow(
      expect.objectContaining({ code: 'SYNC_UNROUTED_TABLE', details: { table: 'public.other' } }),
    );
  });
});
