import type { CatalogTable } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { Segment } from './compare-segment.js';
import type { RouteShape } from './route-shape.js';

/** Rows of a table, from the planner's estimate, else from its size (an unanalyzed table says -1). */
export function estimatedRows(table: CatalogTable): number {
  if (table.rowEstimate > 0) return table.rowEstimate;
  return Math.max(0, Math.ceil(table.heapBytes / 100));
}

/** Hash buckets for a table: about `bucketRows` rows each, a power of two in 16 … 65 536. */
export function hashBucketCount(rows: number, bucketRows: number): number {
  const wanted = Math.max(16, Math.min(65_536, Math.ceil(rows / bucketRows)));
  return 2 ** Math.ceil(Math.log2(wanted));
}

/**
 * Split points for `count` segments from sorted boundary values (a histogram): pure.
 * Returns at most count - 1 increasing, distinct values.
 */
export function splitPoints(bounds: readonly bigint[], count: number): bigint[] {
  if (count <= 1 || bounds.length < 2) return [];
  const out: bigint[] = [];
  for (let i = 1; i < count; i++) {
    const value = bounds[Math.round((i * (bounds.length - 1)) / count)]!;
    if (out.length === 0 || value > out[out.length - 1]!) out.push(value);
  }
  return out;
}

/** Consecutive segments over the split points, the first and last unbounded. Pure. */
export function segmentsFrom(points: readonly bigint[], rows: number): Segment[] {
  const perSegment = rows / (points.length + 1);
  const segments: Segment[] = [];
  for (let i = 0; i <= points.length; i++) {
    segments.push({
      no: i,
      lower: i === 0 ? null : points[i - 1]!,
      upper: i === points.length ? null : points[i]!,
      estimatedRows: perSegment,
    });
  }
  return segments;
}

/**
 * Segments of a source table. Hash-bucketed tables are one segment (each pass reads the whole
 * table). Integer keys are split into about rows / segmentRows key ranges of similar row counts,
 * from the column's histogram (pg_stats) or, without statistics, evenly between min and max.
 */
export async function planSegments(
  source: Client,
  shape: RouteShape,
  table: CatalogTable,
  segmentRows: number,
): Promise<Segment[]> {
  const rows = estimatedRows(table);
  const count = Math.ceil(rows / segmentRows);
  if (shape.keyClass === 'hash' || count <= 1) return segmentsFrom([], rows);
  const column = shape.columns[shape.key[0]!]!.source;
  const stats = await source.query(
    `SELECT histogram_bounds::text::text[] AS b FROM pg_catalog.pg_stats
      WHERE schemaname = $1 AND tablename = $2 AND attname = $3
      ORDER BY inherited DESC LIMIT 1`,
    [shape.source.schema, shape.source.name, column],
  );
  let bounds: bigint[] = (stats.rows[0]?.b ?? []).map((v: string) => BigInt(v));
  if (bounds.length < 2) {
    const { rows: mm } = await source.query(
      `SELECT min(k)::text AS lo, max(k)::text AS hi FROM (SELECT ${quoteIdent(column)} AS k FROM ${quoteTable(shape)}) AS s`,
    );
    if (mm[0].lo === null) return segmentsFrom([], rows);
    const lo = BigInt(mm[0].lo);
    const hi = BigInt(mm[0].hi);
    bounds = [];
    for (let i = 0n; i <= BigInt(count); i++) bounds.push(lo + ((hi - lo) * i) / BigInt(count));
  }
  return segmentsFrom(splitPoints(bounds, count), rows);
}

function quoteTable(shape: RouteShape): string {
  return `${shape.sourceOnly ? 'ONLY ' : ''}${quoteQualified(shape.source.schema, shape.source.name)}`;
}
