import { describe, expect, it } from 'vitest';
import { upsertSql, updateSql, deleteSql, patchSql, moveSql, refetchSql } from '../../src/sync/apply-sql.js';
import { PendingChanges, rowValues } from '../../src/sync/pending-changes.js';
import type { RoutedChange } from '../../src/sync/route-change.js';
import { planRelation, type RoutePlan } from '../../src/sync/route-plan.js';
import { column, relationOf, route, routing, table } from '../support/sync-routes.js';

const HOSTILE = 'x"; drop table y; --';
const t = table(
  'Sales',
  HOSTILE,
  [column('id', 'integer'), column('site', 'integer'), column('v', 'text'), column('w', 'jsonb')],
  ['id', 'site'],
);
const r = routing([route(t, { database: 'a', renames: { v: 'weird "col"' } })]);
const result = planRelation(relationOf(t), r, new Map());
const plan: RoutePlan = result.kind === 'plan' ? result.plan.routes[0]! : (undefined as never);

const up = (id: string, v: string | null, update = false): RoutedChange => ({
  kind: 'upsert',
  plan,
  key: `${id}\u00001`,
  values: [id, '1', v, '{}'],
  bytes: 10,
  update,
});
const patch = (id: string, v: string | undefined, w: string | undefined): RoutedChange => ({
  kind: 'patch',
  plan,
  key: `${id}\u00001`,
  values: [id, '1', v, w],
  bytes: 10,
});
const del = (id: string): RoutedChange => ({
  kind: 'delete',
  plan,
  key: `${id}\u00001`,
  keyValues: [id, '1'],
  bytes: 10,
});

function add(pending: PendingChanges, change: RoutedChange): boolean {
  if (change.kind === 'move') throw new Error('not here');
  return pending.add(change);
}

describe('PendingChanges', () => {
  it('collapses the changes of one key to its net effect: last image, merged patches, delete wins', () => {
    const p = new PendingChanges();
    for (const c of [
      up('1', 'a'),
      patch('1', undefined, '{"x":1}'),
      up('2', 'b'),
      del('2'),
      patch('3', 'c', undefined),
      patch('3', undefined, '[]'),
      del('4'),
      up('4', 'again'),
    ]) {
      expect(add(p, c)).toBe(true);
    }
    expect(p.count).toBe(4);
    const [flush] = p.drain();
    expect(flush!.deletes).toEqual([['2', '1']]);
    expect(flush!.upserts).toEqual([
      ['1', '1', 'a', '{"x":1}'],
      ['4', '1', 'again', '{}'],
    ]);
    expect(flush!.patches).toEqual([{ set: [2, 3], rows: [['3', '1', 'c', '[]']] }]);
    expect(p.isEmpty).toBe(true);
  });

  it('updates rows that existed before the batch, upserts rows it inserted', () => {
    const p = new PendingChanges();
    add(p, up('1', 'a', true));
    add(p, up('2', 'b', false));
    add(p, up('2', 'b2', true));
    add(p, patch('3', 'c', undefined));
    add(p, up('3', 'c2', true));
    add(p, del('4'));
    add(p, up('4', 'd', true));
    const [flush] = p.drain();
    expect(flush!.updates.map((r) => rowValues(r)[0])).toEqual(['1', '3']);
    expect(flush!.upserts.map((r) => rowValues(r)[0])).toEqual(['2', '4']);
  });

  it('groups patches by the columns they set', () => {
    const p = new PendingChanges();
    add(p, patch('1', 'a', undefined));
    add(p, patch('2', undefined, '{}'));
    add(p, patch('3', 'c', undefined));
    expect(p.drain()[0]!.patches.map((g) => [g.set, g.rows.length])).toEqual([
      [[2], 2],
      [[3], 1],
    ]);
  });

  it('in strict mode refuses a repeated key or another kind, so the caller flushes and keeps source order', () => {
    const p = new PendingChanges(true);
    expect(add(p, up('1', 'a'))).toBe(true);
    expect(add(p, up('2', 'b'))).toBe(true);
    expect(add(p, up('1', 'c'))).toBe(false);
    expect(add(p, del('3'))).toBe(false);
    expect(p.drainTable(plan)!.upserts).toHaveLength(2);
    expect(add(p, del('3'))).toBe(true);
  });
});

describe('apply SQL', () => {
  it('quotes every identifier, binds every value as a text[] per column, and casts to the column type', () => {
    expect(upsertSql(plan)).toBe(
      'INSERT INTO "Sales"."x""; drop table y; --" ("id", "site", "weird ""col""", "w") OVERRIDING SYSTEM VALUE ' +
        'SELECT u.a0::integer, u.a1::integer, u.a2::text, u.a3::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(a0, a1, a2, a3) ORDER BY 1, 2 ' +
        'ON CONFLICT ("id", "site") DO UPDATE SET "weird ""col""" = EXCLUDED."weird ""col""", "w" = EXCLUDED."w"',
    );
    // Rows in key order (the key cast once, sorted in a subquery the planner does not flatten).
    expect(deleteSql(plan)).toBe(
      'DELETE FROM "Sales"."x""; drop table y; --" AS t USING (SELECT u.a0::integer AS k0, u.a1::integer AS k1, u.* ' +
        'FROM unnest($1::text[], $2::text[]) AS u(a0, a1) ORDER BY 1, 2) AS u WHERE t."id" = u.k0 AND t."site" = u.k1',
    );
    expect(updateSql(plan)).toBe(
      'UPDATE "Sales"."x""; drop table y; --" AS t SET "weird ""col""" = u.a2::text, "w" = u.a3::jsonb ' +
        'FROM (SELECT u.a0::integer AS k0, u.a1::integer AS k1, u.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(a0, a1, a2, a3) ORDER BY 1, 2) AS u ' +
        'WHERE t."id" = u.k0 AND t."site" = u.k1',
    );
    // Strict mode's replay keeps the rows' source order.
    expect(updateSql(plan, false)).toContain('AS u(a0, a1, a2, a3)) AS u WHERE');
    expect(deleteSql(plan, false)).not.toContain('ORDER BY');
    expect(upsertSql(plan, false)).not.toContain('ORDER BY');
    expect(patchSql(plan, [3])).toBe(
      'UPDATE "Sales"."x""; drop table y; --" AS t SET "w" = u.a2::jsonb FROM (SELECT u.a0::integer AS k0, u.a1::integer AS k1, u.* ' +
        'FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(a0, a1, a2, n) ORDER BY 1, 2) AS u ' +
        'WHERE t."id" = u.k0 AND t."site" = u.k1 RETURNING u.n',
    );
    expect(patchSql(plan, [3], false)).toContain('AS u(a0, a1, a2, n)) AS u WHERE');
    expect(moveSql(plan, [0, 1, 3])).toBe(
      'UPDATE "Sales"."x""; drop table y; --" SET "id" = $3::integer, "site" = $4::integer, "w" = $5::jsonb WHERE "id" = $1::integer AND "site" = $2::integer',
    );
    expect(refetchSql(plan)).toBe(
      'SELECT s."id"::text, s."site"::text, s."v"::text, s."w"::text FROM "Sales"."x""; drop table y; --" AS s ' +
        'WHERE (s."id", s."site") IN (SELECT u.a0::integer, u.a1::integer FROM unnest($1::text[], $2::text[]) AS u(a0, a1))',
    );
  });
});
