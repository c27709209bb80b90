import { atMonolith, atService, withSession, type Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import { columnSequences } from '../pg/sequences.js';
import type { Routing, ServiceRoute, TableRoute } from '../routing/model.js';
import type { MovedSequence } from './events.js';

/**
 * Sequences when a service changes hands. Sequences are not replicated and setval is not
 * transactional: each move goes forward only (never back: the side that wrote last may be ahead),
 * to the largest of the other side's sequence value and the largest value stored in the column,
 * plus a gap (ids a late writer of the old side could still take without colliding).
 *
 * - cutover (`to: 'service'`): every sequence feeding an owned table in the service database goes
 *   past the monolith's;
 * - rollback (`to: 'monolith'`): every monolith sequence feeding those tables goes past the service's.
 */
interface Pair {
  route: TableRoute;
  /** Source (monolith) column and sequence, qualified. */
  sourceColumn: string;
  sourceSequence: string;
  targetColumn: string;
  /** As regclass renders it in the service database. */
  targetSequence: string;
}

export async function sequencePairs(service: ServiceRoute): Promise<Pair[]> {
  const pairs: Pair[] = [];
  await withSession(atService(service.url), async (client) => {
    for (const route of service.tables.filter((r) => r.kind === 'owned')) {
      for (const { column, sequence } of await columnSequences(client, route.target)) {
        const sourceColumn = route.columns.find((c) => c.target === column)?.source;
        const ref = route.sourceTable.columns.find((c) => c.name === sourceColumn)?.sequence;
        if (!ref || !sourceColumn) continue;
        pairs.push({
          route,
          sourceColumn,
          sourceSequence: quoteQualified(ref.schema, ref.name),
          targetColumn: column,
          targetSequence: sequence,
        });
      }
    }
  });
  return pairs;
}

/** The statement moving one sequence forward to at least $2 (its value is never lowered). */
export const MOVE_SEQUENCE_SQL = `WITH cur AS MATERIALIZED (
   SELECT c.oid, q.seqincrement AS increment, pg_catalog.pg_sequence_last_value(c.oid) AS last
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_sequence q ON q.seqrelid = c.oid
    WHERE c.oid = pg_catalog.to_regclass($1))
 SELECT last::text AS before, pg_catalog.setval(oid, $2::bigint, true)::text AS after
   FROM cur
  WHERE increment > 0 AND (last IS NULL OR last < $2::bigint)`;

/** The larger of the sequence's value (when given) and the column's largest value. */
async function highest(
  client: Client,
  sequence: string | null,
  table: string,
  column: string,
): Promise<bigint> {
  const { rows } = await client.query(
    `SELECT greatest(coalesce(pg_catalog.pg_sequence_last_value(pg_catalog.to_regclass($1)), 0),
                     coalesce((SELECT max(${quoteIdent(column)})::bigint FROM ${table}), 0))::text AS v`,
    [sequence],
  );
  return BigInt(rows[0].v);
}

export async function moveSequences(
  routing: Routing,
  service: ServiceRoute,
  to: 'service' | 'monolith',
  gap: number,
): Promise<MovedSequence[]> {
  const pairs = await sequencePairs(service);
  if (!pairs.length) return [];
  const moved: MovedSequence[] = [];
  await withSession(atMonolith(routing.sourceUrl), (monolith) =>
    withSession(atService(service.url), async (target) => {
      for (const p of pairs) {
        const sourceTable = quoteQualified(p.route.source.schema, p.route.source.name);
        const targetTable = quoteQualified(p.route.target.schema, p.route.target.name);
        const [from, into] =
          to === 'service'
            ? [
                { client: monolith, sequence: p.sourceSequence, table: sourceTable, column: p.sourceColumn },
                { client: target, sequence: p.targetSequence, table: targetTable, column: p.targetColumn },
              ]
            : [
                { client: target, sequence: p.targetSequence, table: targetTable, column: p.targetColumn },
                { client: monolith, sequence: p.sourceSequence, table: sourceTable, column: p.sourceColumn },
              ];
        const a = await highest(from.client, from.sequence, from.table, from.column);
        // The side moved: its rows only (its own value decides whether it moves, not how far).
        const b = await highest(into.client, null, into.table, into.column);
        const value = (a > b ? a : b) + BigInt(gap);
        const { rows } = await into.client.query(MOVE_SEQUENCE_SQL, [into.sequence, value.toString()]);
        if (rows[0])
          moved.push({
            database: to === 'service' ? service.database : 'monolith',
            sequence: into.sequence,
            from: rows[0].before,
            to: rows[0].after,
          });
      }
    }),
  );
  return moved;
}
