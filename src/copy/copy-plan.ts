import type { TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { TableRoute } from '../routing/model.js';
import type { ChunkRecord } from '../state/copy-log.js';
import type { ChunkRead } from './chunk-copier.js';
import type { RelationStats } from './chunk-planner.js';
import { copyFormatFor } from './copy-format.js';

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** The single integer key column chunks can be ranged on, if the route has one. */
export function integerKeyColumn(route: TableRoute): string | undefined {
  if (route.key.length !== 1 || route.sourcePartitions.length) return undefined;
  const column = route.sourceTable.columns.find((c) => c.name === route.key[0]);
  return column && INTEGER_TYPES.has(column.type) ? column.name : undefined;
}

/** Columns a route loads: everything routed except STORED generated columns, which the target computes. */
export function loadedColumns(route: TableRoute): { source: string; target: string }[] {
  return route.columns.filter((c) => !c.generated).map((c) => ({ source: c.source, target: c.target }));
}

/** Sizes and key range of a route's source relations, read under the copy snapshot. */
export async function readRelationStats(reader: Client, route: TableRoute): Promise<RelationStats[]> {
  const relations: TableRef[] = route.sourcePartitions.length ? route.sourcePartitions : [route.source];
  const key = integerKeyColumn(route);
  const stats: RelationStats[] = [];
  for (const relation of relations) {
    const name = quoteQualified(relation.schema, relation.name);
    const { rows } = await reader.query(
      `SELECT pg_relation_size($1::regclass)::bigint AS heap,
              (pg_total_relation_size($1::regclass) - pg_indexes_size($1::regclass))::bigint AS data,
              (pg_relation_size($1::regclass) / current_setting('block_size')::int)::bigint AS pages`,
      [name],
    );
    const entry: RelationStats = { relation, bytes: Number(rows[0].data), pages: Number(rows[0].pages) };
    if (key) {
      const range = await reader.query(
        `SELECT min(${quoteIdent(key)})::text AS min, max(${quoteIdent(key)})::text AS max FROM ONLY ${name}`,
      );
      entry.integerKey = { column: key, min: range.rows[0].min, max: range.rows[0].max };
    }
    stats.push(entry);
  }
  return stats;
}

export interface PendingChunk {
  route: TableRoute;
  chunk: ChunkRecord;
  /** Its rows are published as snapshot reads (plan `events.snapshot`) and are not yet. */
  publish?: boolean;
}

export interface ReadGroup {
  read: ChunkRead;
  sinks: {
    route: TableRoute;
    chunkNo: number;
    targetColumns: string[];
    fields: number[] | null;
    publish?: boolean;
  }[];
  estimatedBytes: number;
}

/**
 * Pending chunks that read the same slice of the same relation become one read feeding several
 * targets — a table's owner and its projections load from a single scan of the monolith.
 * Largest reads first, so the longest work starts early and workers finish together.
 */
export function groupReads(pending: PendingChunk[]): ReadGroup[] {
  const groups = new Map<string, PendingChunk[]>();
  for (const item of pending) {
    const c = item.chunk;
    const key = JSON.stringify([c.source.schema, c.source.name, c.method, c.lower, c.upper]);
    const list = groups.get(key) ?? [];
    list.push(item);
    groups.set(key, list);
  }
  const reads: ReadGroup[] = [];
  for (const members of groups.values()) {
    // Owners first, so their column order is the read order and they take the stream unchanged.
    members.sort((a, b) => Number(a.route.kind !== 'owned') - Number(b.route.kind !== 'owned'));
    const columns: string[] = [];
    for (const { route } of members) {
      for (const { source } of loadedColumns(route)) if (!columns.includes(source)) columns.push(source);
    }
    const first = members[0]!;
    // Snapshot reads need the values as PostgreSQL prints them: the text format.
    const format = members.some(({ route, publish }) => publish || copyFormatFor(route) === 'text')
      ? 'text'
      : 'binary';
    reads.push({
      read: {
        relation: first.chunk.source,
        method: first.chunk.method,
        lower: first.chunk.lower,
        upper: first.chunk.upper,
        keyColumn: integerKeyColumn(first.route),
        columns,
        format,
      },
      sinks: members.map(({ route, chunk, publish }) => {
        const loaded = loadedColumns(route);
        const fields = loaded.map((c) => columns.indexOf(c.source));
        const identity = fields.length === columns.length && fields.every((f, i) => f === i);
        return {
          route,
          chunkNo: chunk.chunkNo,
          targetColumns: loaded.map((c) => c.target),
          fields: identity ? null : fields,
          ...(publish ? { publish } : {}),
        };
      }),
      estimatedBytes: Math.max(...members.map((m) => m.chunk.estimatedBytes)),
    });
  }
  return reads.sort((a, b) => b.estimatedBytes - a.estimatedBytes);
}
