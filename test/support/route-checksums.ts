import { withClient } from '../../src/pg/connect.js';
import { quoteIdent, quoteQualified } from '../../src/pg/quote.js';
import type { Routing, TableRoute } from '../../src/routing/model.js';

export interface RouteChecksum {
  rows: number;
  md5: string | null;
}

/**
 * Count and md5 of every row of a route, rendered the same way on both sides: the routed columns in
 * target order (renames mapped back to their source), rows ordered by key. Generated columns are
 * included: the target computes them itself, so they must come out equal too.
 */
function checksumSql(route: TableRoute, side: 'source' | 'target'): string {
  const name = (c: { source: string; target: string }) => quoteIdent(side === 'source' ? c.source : c.target);
  const columns = route.columns.map(name).join(', ');
  const key = route.key.map((k) =>
    quoteIdent(side === 'source' ? k : route.columns.find((c) => c.source === k)!.target),
  );
  const table =
    side === 'source'
      ? quoteQualified(route.source.schema, route.source.name)
      : quoteQualified(route.target.schema, route.target.name);
  return `SELECT count(*)::int AS rows, md5(string_agg(r::text, E'\\n' ORDER BY ${key.map((_, i) => `k${i}`).join(', ')})) AS md5
            FROM (SELECT ROW(${columns}) AS r, ${key.map((k, i) => `${k} AS k${i}`).join(', ')} FROM ${table}) t`;
}

const SETTINGS =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

export async function sourceChecksum(sourceUrl: string, route: TableRoute): Promise<RouteChecksum> {
  return withClient(sourceUrl, async (c) => {
    await c.query(SETTINGS);
    return (await c.query(checksumSql(route, 'source'))).rows[0];
  });
}

export async function targetChecksum(route: TableRoute, url: string): Promise<RouteChecksum> {
  return withClient(url, async (c) => {
    await c.query(SETTINGS);
    return (await c.query(checksumSql(route, 'target'))).rows[0];
  });
}

/** Route id → [source, target] checksums, for every route of the routing. */
export async function compareAllRoutes(
  routing: Routing,
): Promise<Record<string, { source: RouteChecksum; target: RouteChecksum }>> {
  const out: Record<string, { source: RouteChecksum; target: RouteChecksum }> = {};
  for (const route of routing.routes) {
    const service = routing.services.find((s) => s.name === route.service)!;
    out[route.id] = {
      source: await sourceChecksum(routing.sourceUrl, route),
      target: await targetChecksum(route, service.url),
    };
  }
  return out;
}

/** The routes whose target differs from the source (empty when everything matches). */
export async function differingRoutes(routing: Routing): Promise<string[]> {
  const all = await compareAllRoutes(routing);
  return Object.entries(all)
    .filter(([, v]) => v.source.rows !== v.target.rows || v.source.md5 !== v.target.md5)
    .map(
      ([id, v]) => `${id}: source ${v.source.rows}/${v.source.md5} target ${v.target.rows}/${v.target.md5}`,
    );
}
