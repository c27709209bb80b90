import { sameTable, type TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { TableRoute } from '../routing/model.js';
import type { PartitionDifference, TableVerifyResult } from './events.js';
import type { SnapshotPool } from './snapshot-pool.js';
import type { Snapshots } from './take-snapshots.js';

/** Add to each owned partitioned table's result the leaf partitions only one side has. */
export async function addPartitionDifferences(
  tables: readonly TableVerifyResult[],
  routes: readonly TableRoute[],
  snapshots: Snapshots,
): Promise<void> {
  for (const table of tables) {
    const route = routes.find((r) => r.id === table.routeId)!;
    if (route.kind !== 'owned' || route.sourceTable.partitionKey === undefined) continue;
    const partitions = await comparePartitions(
      route,
      snapshots.source,
      snapshots.targets.get(route.database)!,
    );
    if (partitions) table.partitions = partitions;
  }
}

/**
 * The leaf partitions of an owned partitioned table that only one side has. ATTACH and DETACH
 * PARTITION on the monolith move rows without a row change in the WAL, so the stream cannot follow
 * them (docs/sync.md): this names the partition, where the row counts alone would only say
 * "extra" or "missing". Both sides are read now (catalogs are not part of a snapshot).
 * Undefined when both have the same leaves.
 */
export async function comparePartitions(
  route: TableRoute,
  source: SnapshotPool,
  target: SnapshotPool,
): Promise<PartitionDifference | undefined> {
  const [monolith, service] = await Promise.all([
    source.use((c) => leaves(c, route.source)),
    target.use((c) => leaves(c, route.target)),
  ]);
  const has = (side: TableRef[], t: TableRef) => side.some((x) => sameTable(x, t));
  const onlyInTarget = service.filter((l) => !has(monolith, l));
  const onlyInMonolith = monolith.filter((l) => !has(service, l));
  return onlyInTarget.length || onlyInMonolith.length ? { onlyInTarget, onlyInMonolith } : undefined;
}

async function leaves(client: Client, table: TableRef): Promise<TableRef[]> {
  const { rows } = await client.query<TableRef>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_partition_tree(to_regclass($1)) AS t
       JOIN pg_catalog.pg_class c ON c.oid = t.relid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE t.isleaf AND t.level > 0
      ORDER BY 1, 2`,
    [quoteQualified(table.schema, table.name)],
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name }));
}
