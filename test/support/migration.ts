import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/model.js';
import { buildIndexesWithProvision } from '../../src/cli/copy.js';
import { copy } from '../../src/copy/index.js';
import { withClient } from '../../src/pg/connect.js';
import { quoteIdent, quoteQualified } from '../../src/pg/quote.js';
import { parsePlan } from '../../src/plan/load.js';
import { provision } from '../../src/provision/index.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing, TableRoute } from '../../src/routing/model.js';
import { createDatabase, useCluster } from './cluster.js';

/**
 * A monolith on one throwaway cluster and its service databases on another, with a plan resolved
 * by the real plan/catalog/routing code, the real `carve provision` and the real `carve copy`
 * (indexes and foreign keys after the load). Sync tests start from here.
 */
export interface Migration {
  source: LocalCluster;
  target: LocalCluster;
  sourceUrl: string;
  routing: Routing;
  catalog: Catalog;
  /** Plan YAML as written (for CLI subprocesses). */
  planText: string;
  /** Where provision wrote the role passwords (`--secrets-dir` for CLI subprocesses). */
  secretsDir: string;
}

export interface MigrationSpec {
  name: string;
  /** SQL creating the monolith's tables (and initial rows). */
  monolithSql: string;
  /** The plan's `services:` (and optional `projections:`/`schema_changes:`) YAML, without source/target. */
  planBody: string;
}

/** Two clusters for one test file (removed after it). */
export async function useMigrationClusters(
  name: string,
): Promise<{ source: LocalCluster; target: LocalCluster }> {
  const [source, target] = await Promise.all([
    useCluster({ name: `${name}-src` }),
    useCluster({ name: `${name}-dst` }),
  ]);
  return { source, target };
}

export async function prepareMigration(
  clusters: { source: LocalCluster; target: LocalCluster },
  spec: MigrationSpec,
): Promise<Migration> {
  const sourceUrl = await createDatabase(clusters.source, `mono_${spec.name}`);
  await withClient(sourceUrl, (c) => c.query(spec.monolithSql));
  const planText = `name: ${spec.name}\nsource: ${sourceUrl}\ntarget: ${clusters.target.url()}\n${spec.planBody}`;
  const catalog = await withClient(sourceUrl, (c) => introspect(c));
  const planned = buildRouting(parsePlan(planText, { env: {} }), catalog);
  const secretsDir = mkdtempSync(join(tmpdir(), 'carve-secrets-'));
  await provision(catalog, planned, { secretsDir });
  // carve's own sessions log in as each service's carve role, with the password provision wrote.
  const routing = withCarveLogins(planned, { secretsDir });
  return { ...clusters, sourceUrl, routing, catalog, planText, secretsDir };
}

/** The real copy engine, building indexes and foreign keys after the load as `carve copy` does. */
export async function runCopy(routing: Routing): Promise<void> {
  const result = await copy({ routing, jobs: 2, buildIndexes: buildIndexesWithProvision });
  if (!result.complete) throw new Error(`copy incomplete: ${JSON.stringify(result.failed)}`);
}

/** count and md5 of every routed column of a route, ordered by key, on one side. */
export async function routeChecksum(
  routing: Routing,
  route: TableRoute,
  side: 'source' | 'target',
): Promise<string> {
  const columns = route.columns;
  const names = columns.map((c) => quoteIdent(side === 'source' ? c.source : c.target));
  const key = route.key.map((k) =>
    quoteIdent(side === 'source' ? k : route.columns.find((c) => c.source === k)!.target),
  );
  const table =
    side === 'source'
      ? quoteQualified(route.source.schema, route.source.name)
      : quoteQualified(route.target.schema, route.target.name);
  const url =
    side === 'source' ? routing.sourceUrl : routing.services.find((s) => s.database === route.database)!.url;
  const sql = `SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY ${key.map((_, i) => `k${i}`).join(', ')})), '-') AS h
                 FROM (SELECT ROW(${names.join(', ')}) AS r, ${key.map((k, i) => `${k} AS k${i}`).join(', ')} FROM ${table}) t`;
  return withClient(url, async (c) => {
    await c.query(`SET extra_float_digits = 3; SET datestyle = 'ISO, YMD'`);
    return (await c.query(sql)).rows[0].h;
  });
}

/** Routes whose target differs from the monolith (empty when everything matches). */
export async function mismatchedRoutes(
  routing: Routing,
): Promise<{ route: string; source: string; target: string }[]> {
  const out: { route: string; source: string; target: string }[] = [];
  for (const route of routing.routes) {
    const [source, target] = await Promise.all([
      routeChecksum(routing, route, 'source'),
      routeChecksum(routing, route, 'target'),
    ]);
    if (source !== target) out.push({ route: route.id, source, target });
  }
  return out;
}
