import { describe, expect, it } from 'vitest';
import { columnHashSql, hashMethod, xorSql } from '../../src/verify/column-hash.js';
import {
  connectMetaCommand,
  deleteSql,
  insertSql,
  setvalSql,
  updateSql,
} from '../../src/verify/repair-sql.js';
import {
  bucketAggregateSql,
  drillHashSql,
  drillRangesSql,
  fetchRowsSql,
  keyBoundsSql,
} from '../../src/verify/route-sql.js';
import type { ComparedColumn, RouteShape } from '../../src/verify/route-shape.js';

const column = (
  source: string,
  target: string,
  type: string,
  method: ComparedColumn['method'],
  extra: Partial<ComparedColumn> = {},
): ComparedColumn => ({
  source,
  target,
  sourceType: type,
  targetType: type,
  method,
  notNull: false,
  generated: false,
  ...extra,
});

const HOSTILE = 'x"; drop table y; --';

const patients: RouteShape = {
  routeId: 'patient_db/public.patients',
  database: 'patient_db',
  source: { schema: 'public', name: 'patients' },
  sourceOnly: true,
  target: { schema: 'Care', name: HOSTILE },
  columns: [
    column('id', 'id', 'integer', 'int', { notNull: true }),
    column('last_name', 'family_name', 'text', 'text'),
    column('total', 'total', 'numeric', 'text', { generated: true }),
  ],
  key: [0],
  keyClass: 'ranges',
};

const enrolments: RouteShape = {
  ...patients,
  routeId: 'x/public.enrolments',
  source: { schema: 'public', name: 'enrolments' },
  sourceOnly: false,
  target: { schema: 'public', name: 'enrolments' },
  columns: [
    column('course', 'course', 'text', 'text', { notNull: true }),
    column('student', 'student', 'integer', 'int', { notNull: true }),
  ],
  key: [0, 1],
  keyClass: 'hash',
};

describe('column hashes', () => {
  it('hashes built-in types by value only when both sides store the same type', () => {
    expect(hashMethod(23, 23)).toBe('int');
    expect(hashMethod(1184, 1184)).toBe('timestamptz');
    expect(hashMethod(23, 20)).toBe('text');
    expect(hashMethod(1700, 1700)).toBe('text'); // numeric keeps its scale through text
    expect(hashMethod(3802, 3802)).toBe('text'); // jsonb
  });

  it('renders seeded hashes with a NULL stand-in, and XORs them', () => {
    expect(columnHashSql('t."a"', 'int', 1, true)).toBe('hashint8extended(t."a"::int8, 1)');
    expect(columnHashSql('t."a"', 'timestamptz', 2, true)).toBe(
      'timestamp_hash_extended(t."a"::timestamp, 2)',
    );
    expect(columnHashSql('t."b"', 'text', 3, false)).toMatch(
      /^coalesce\(hashtextextended\(t\."b"::text COLLATE "C", 3\), \d+::int8\)$/,
    );
    expect(columnHashSql('t."b"', 'text', 3, false)).not.toBe(
      columnHashSql('t."b"', 'text', 4, false).replace(', 4)', ', 3)'),
    );
    expect(xorSql(['a', 'b'])).toBe('(a # b)');
    expect(xorSql(['a'])).toBe('a');
  });
});

describe('route SQL', () => {
  it('aggregates buckets of every route of a source in one scan, source names and ONLY on the monolith side', () => {
    const projection: RouteShape = {
      ...patients,
      routeId: 'p',
      columns: [patients.columns[0]!, patients.columns[1]!],
    };
    const sql = bucketAggregateSql(
      [patients, projection],
      'source',
      { kind: 'ranges', lo: 1n, width: 50n },
      { lower: 100n, upper: null },
    );
    expect(sql.text).toMatch(
      /^SELECT \(t\."id"::int8 - \$1::int8\) \/ \$2::int8 AS b, count\(\*\)::int8 AS n, sum\(.+\)::text AS s0, sum\(.+\)::text AS s1 FROM ONLY "public"\."patients" AS t WHERE t\."id" >= \$3::int8 GROUP BY 1$/,
    );
    expect(sql.text).toContain('t."last_name"');
    expect(sql.values).toEqual(['1', '50', '100']);
  });

  it('reads the target under its own, hostile, names', () => {
    const sql = bucketAggregateSql(
      [patients],
      'target',
      { kind: 'ranges', lo: -5n, width: 3n, wide: true },
      { lower: null, upper: 10n },
    );
    expect(sql.text).toContain(`FROM "Care"."x""; drop table y; --" AS t WHERE t."id" < $3::int8`);
    expect(sql.text).toContain('div(t."id"::numeric - $1::numeric, $2::numeric)::int8 AS b');
    expect(sql.text).toContain('t."family_name"');
    expect(sql.text).not.toContain('last_name');
    expect(() =>
      bucketAggregateSql([patients, patients], 'target', { kind: 'hash', mask: 15n }, null),
    ).toThrow();
  });

  it('hash buckets, key bounds, drills and fetches', () => {
    const agg = bucketAggregateSql([enrolments], 'source', { kind: 'hash', mask: 1023n }, null);
    expect(agg.text).toMatch(
      /^SELECT \(\(hashtextextended\(t\."course"::text COLLATE "C", 1001\) # hashint8extended\(t\."student"::int8, 1002\)\) & \$1::int8\) AS b/,
    );
    expect(agg.text).toContain('FROM "public"."enrolments" AS t GROUP BY 1');
    expect(keyBoundsSql(patients, 'source', { lower: 1n, upper: 9n })).toEqual({
      text: 'SELECT min(t."id")::text AS lo, max(t."id")::text AS hi FROM ONLY "public"."patients" AS t WHERE t."id" >= $1::int8 AND t."id" < $2::int8',
      values: ['1', '9'],
    });
    const ranges = drillRangesSql(patients, 'target', [0n, 100n], [50n, 150n]);
    expect(ranges.text).toMatch(
      /^SELECT x\.k0, x\.h FROM unnest\(\$1::int8\[\], \$2::int8\[\]\) AS r\(a, z\) CROSS JOIN LATERAL/,
    );
    expect(ranges.text).toContain('ORDER BY x.o');
    expect(ranges.values).toEqual([
      ['0', '100'],
      ['50', '150'],
    ]);
    const hash = drillHashSql(enrolments, 'target', 1023n, [3n, 7n]);
    expect(hash.text).toContain(`ORDER BY convert_to(x.k0, 'UTF8'), convert_to(x.k1, 'UTF8')`);
    expect(hash.values).toEqual(['1023', ['3', '7']]);
    expect(drillHashSql(enrolments, 'source', 1023n, null).values).toEqual([]);
    const fetch = fetchRowsSql(enrolments, 'target', [
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fetch.text).toContain(
      'WHERE (t."course", t."student") IN (SELECT u.a0::text, u.a1::integer FROM unnest($1::text[], $2::text[]) AS u(a0, a1))',
    );
    expect(fetch.values).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('repair SQL', () => {
  it('escapes literals, casts to the target type, skips generated columns and quotes hostile names', () => {
    expect(insertSql(patients, ['1', "O'Brien \\ x", '42'])).toBe(
      `INSERT INTO "Care"."x""; drop table y; --" ("id", "family_name") OVERRIDING SYSTEM VALUE VALUES ('1'::integer, E'O''Brien \\\\ x'::text);`,
    );
    expect(deleteSql(enrolments, ["it's", '3'])).toBe(
      `DELETE FROM "public"."enrolments" WHERE "course" = 'it''s'::text AND "student" = '3'::integer;`,
    );
    expect(updateSql(patients, ['7'], ['7', null, '1'], [1, 2])).toBe(
      `UPDATE "Care"."x""; drop table y; --" SET "family_name" = NULL WHERE "id" = '7'::integer;`,
    );
    expect(updateSql(patients, ['7'], ['7', 'a', '1'], [2])).toMatch(/^-- .* only generated columns differ/);
    expect(setvalSql('public."s"', { schema: 'public', name: HOSTILE }, 'id')).toBe(
      `SELECT pg_catalog.setval('public."s"'::regclass, m, true) FROM (SELECT max("id") AS m FROM "public"."x""; drop table y; --") AS s WHERE m IS NOT NULL;`,
    );
  });

  it('connects psql without the password', () => {
    expect(connectMetaCommand('postgres://admin:secret@db.example:5433/clinical_db')).toBe(
      `\\connect 'postgres://admin@db.example:5433/clinical_db'`,
    );
    expect(
      connectMetaCommand(
        'postgres://carve_x@db.example/clinical_db?password=s3&sslpassword=k3&sslmode=require',
      ),
    ).toBe(`\\connect 'postgres://carve_x@db.example/clinical_db?sslmode=require'`);
    expect(connectMetaCommand("postgres://u@h/it's")).toBe(`\\connect 'postgres://u@h/it''s'`);
  });
});
