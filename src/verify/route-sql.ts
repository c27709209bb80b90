import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { columnHashSql, xorSql } from './column-hash.js';
import type { RouteShape } from './route-shape.js';

/**
 * SQL of the row comparison, for either side. Pure: text and bound values, asserted as text in
 * unit tests and executed in integration tests. Identifiers are quoted, values bound.
 *
 * Rows are grouped into buckets by key:
 * - ranges (a single integer key): bucket = (key - lo) / width, so a bucket is a key range and
 *   is read again with an index range scan;
 * - hash (any key: uuid, text, composite …): bucket = hash(key) & mask, computed in the same scan.
 * Per bucket each side returns count(*) and the sum (numeric, exact) of 64-bit row hashes.
 */

export type Side = 'source' | 'target';

/** `wide`: the key span does not fit int8 arithmetic (keys near both ends of int8): numeric is used. */
export type BucketSpec =
  { kind: 'ranges'; lo: bigint; width: bigint; wide?: boolean } | { kind: 'hash'; mask: bigint };

/** Segment bounds on the integer key: lower inclusive, upper exclusive; null = unbounded. */
export interface KeyRange {
  lower: bigint | null;
  upper: bigint | null;
}

export interface Sql {
  text: string;
  values: unknown[];
}

const ALIAS = 't';

function col(name: string): string {
  return `${ALIAS}.${quoteIdent(name)}`;
}

function tableSql(shape: RouteShape, side: Side): string {
  if (side === 'target') return `${quoteQualified(shape.target.schema, shape.target.name)} AS ${ALIAS}`;
  const name = quoteQualified(shape.source.schema, shape.source.name);
  return `${shape.sourceOnly ? 'ONLY ' : ''}${name} AS ${ALIAS}`;
}

/** The route's row hash on one side: XOR of every compared column's hash, seeded by position. */
export function rowHashSql(shape: RouteShape, side: Side): string {
  return xorSql(shape.columns.map((c, i) => columnHashSql(col(c[side]), c.method, i + 1, c.notNull)));
}

/** The key's hash (hash buckets); key columns are never NULL. */
export function keyHashSql(shape: RouteShape, side: Side): string {
  return xorSql(
    shape.key.map((i, j) =>
      columnHashSql(col(shape.columns[i]![side]), shape.columns[i]!.method, 1001 + j, true),
    ),
  );
}

function singleKey(shape: RouteShape, side: Side): string {
  if (shape.key.length !== 1)
    throw new Error(`route ${shape.routeId}: range buckets need a single-column key`);
  return col(shape.columns[shape.key[0]!]![side]);
}

function rangeConditions(shape: RouteShape, side: Side, range: KeyRange, values: unknown[]): string[] {
  const key = singleKey(shape, side);
  const out: string[] = [];
  if (range.lower !== null) {
    values.push(range.lower.toString());
    out.push(`${key} >= $${values.length}::int8`);
  }
  if (range.upper !== null) {
    values.push(range.upper.toString());
    out.push(`${key} < $${values.length}::int8`);
  }
  return out;
}

function bucketSql(shape: RouteShape, side: Side, bucket: BucketSpec, values: unknown[]): string {
  if (bucket.kind === 'ranges') {
    values.push(bucket.lo.toString(), bucket.width.toString());
    const [lo, width] = [`$${values.length - 1}`, `$${values.length}`];
    if (bucket.wide)
      return `div(${singleKey(shape, side)}::numeric - ${lo}::numeric, ${width}::numeric)::int8`;
    return `(${singleKey(shape, side)}::int8 - ${lo}::int8) / ${width}::int8`;
  }
  values.push(bucket.mask.toString());
  return `(${keyHashSql(shape, side)} & $${values.length}::int8)`;
}

/**
 * Per-bucket count and row-hash sums. On the source, `shapes` are every route fed by one table
 * (owner and projections share the key): one scan yields the sums of all of them (s0, s1, …).
 * The caller disables enable_sort around it: the planner overestimates the number of buckets and
 * would otherwise sort the whole table instead of hashing into a few thousand groups.
 */
export function bucketAggregateSql(
  shapes: readonly RouteShape[],
  side: Side,
  bucket: BucketSpec,
  range: KeyRange | null,
): Sql {
  const first = shapes[0]!;
  if (side === 'target' && shapes.length !== 1) throw new Error('a target aggregate covers one route');
  const values: unknown[] = [];
  const b = bucketSql(first, side, bucket, values);
  const where = range ? rangeConditions(first, side, range, values) : [];
  const sums = shapes.map((s, i) => `sum(${rowHashSql(s, side)})::text AS s${i}`);
  return {
    text: `SELECT ${b} AS b, count(*)::int8 AS n, ${sums.join(', ')} FROM ${tableSql(first, side)}${
      where.length ? ` WHERE ${where.join(' AND ')}` : ''
    } GROUP BY 1`,
    values,
  };
}

/** min and max of the integer key within a segment (two index probes). */
export function keyBoundsSql(shape: RouteShape, side: Side, range: KeyRange): Sql {
  const values: unknown[] = [];
  const key = singleKey(shape, side);
  const where = rangeConditions(shape, side, range, values);
  return {
    text: `SELECT min(${key})::text AS lo, max(${key})::text AS hi FROM ${tableSql(shape, side)}${
      where.length ? ` WHERE ${where.join(' AND ')}` : ''
    }`,
    values,
  };
}

/**
 * The rows of some key ranges (differing range buckets): key text and row hash, ordered by key.
 * One index range scan per range ($1 lower bounds, $2 upper bounds, same length).
 */
export function drillRangesSql(
  shape: RouteShape,
  side: Side,
  lowers: readonly bigint[],
  uppers: readonly bigint[],
): Sql {
  const key = singleKey(shape, side);
  return {
    text:
      `SELECT x.k0, x.h FROM unnest($1::int8[], $2::int8[]) AS r(a, z) CROSS JOIN LATERAL ` +
      `(SELECT ${key}::text AS k0, ${rowHashSql(shape, side)}::text AS h, ${key} AS o FROM ${tableSql(shape, side)} ` +
      `WHERE ${key} >= r.a AND ${key} < r.z) AS x ORDER BY x.o`,
    values: [lowers.map(String), uppers.map(String)],
  };
}

/**
 * The rows of some hash buckets (null: all rows): key texts and row hash, ordered by the UTF-8
 * bytes of the key texts — an order that does not depend on either database's collation or
 * encoding and that the client reproduces with Buffer.compare.
 */
export function drillHashSql(
  shape: RouteShape,
  side: Side,
  mask: bigint,
  buckets: readonly bigint[] | null,
): Sql {
  const keys = shape.key.map((i, j) => `${col(shape.columns[i]![side])}::text AS k${j}`);
  const order = shape.key.map((_i, j) => `convert_to(x.k${j}, 'UTF8')`);
  const values: unknown[] = [];
  let where = '';
  if (buckets !== null) {
    values.push(mask.toString(), buckets.map(String));
    where = ` WHERE (${keyHashSql(shape, side)} & $1::int8) = ANY($2::int8[])`;
  }
  return {
    text: `SELECT * FROM (SELECT ${keys.join(', ')}, ${rowHashSql(shape, side)}::text AS h FROM ${tableSql(shape, side)}${where}) AS x ORDER BY ${order.join(', ')}`,
    values,
  };
}

/**
 * Whole rows (every compared column as text) for a batch of keys given as text, one array per
 * key column; each side casts them to its own column types, so the key index is used.
 */
export function fetchRowsSql(shape: RouteShape, side: Side, keyTexts: readonly (readonly string[])[]): Sql {
  const types = shape.key.map((i) =>
    side === 'source' ? shape.columns[i]!.sourceType : shape.columns[i]!.targetType,
  );
  const unnestArgs = shape.key.map((_i, j) => `$${j + 1}::text[]`).join(', ');
  const aliases = shape.key.map((_i, j) => `a${j}`);
  const casts = shape.key.map((_i, j) => `u.a${j}::${types[j]}`).join(', ');
  const keyCols = shape.key.map((i) => col(shape.columns[i]![side]));
  const lhs = keyCols.length === 1 ? keyCols[0]! : `(${keyCols.join(', ')})`;
  const select = [
    ...shape.key.map((i, j) => `${col(shape.columns[i]![side])}::text AS k${j}`),
    ...shape.columns.map((c, i) => `${col(c[side])}::text AS c${i}`),
  ];
  return {
    text: `SELECT ${select.join(', ')} FROM ${tableSql(shape, side)} WHERE ${lhs} IN (SELECT ${casts} FROM unnest(${unnestArgs}) AS u(${aliases.join(', ')}))`,
    values: keyTexts.map((k) => [...k]),
  };
}
