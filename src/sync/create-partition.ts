import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { TableRef } from '../catalog/model.js';
import type { ServiceRoute } from '../routing/model.js';
import { renderPartitionChain, type NewPartition } from './route-plan.js';

/**
 * Create a partition the target lacks (rendered by renderPartitionChain), owned like its parent,
 * as provision leaves partitions. Returns false when a table of that name exists already.
 */
export async function createPartition(client: Client, partition: NewPartition): Promise<boolean> {
  const name = quoteQualified(partition.table.schema, partition.table.name);
  const { rows } = await client.query(
    `SELECT to_regclass($1) IS NOT NULL AS present,
            (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($2)) AS owner`,
    [name, quoteQualified(partition.parent.schema, partition.parent.name)],
  );
  if (rows[0].present) return false;
  await client.query(partition.statement);
  if (rows[0].owner) await client.query(`ALTER TABLE ${name} OWNER TO ${quoteIdent(rows[0].owner)}`);
  return true;
}

/**
 * Create, in one service database, every partition of its owned partitioned tables that the
 * routing's catalog has and the database lacks (partitions created on the monolith after
 * provision). Parents first; returns the partitions created.
 */
export async function createMissingPartitions(client: Client, service: ServiceRoute): Promise<TableRef[]> {
  const created: TableRef[] = [];
  for (const route of service.tables) {
    if (route.kind !== 'owned' || !route.partitionTree?.length) continue;
    const chain = route.partitionTree.map((p) => ({
      table: { schema: p.table.schema, name: p.table.name },
      parent: p.table.parent!,
      bound: p.table.partitionBound ?? 'DEFAULT',
      partitionKey: p.table.partitionKey ?? null,
    }));
    for (const partition of renderPartitionChain(route, chain)) {
      if (await createPartition(client, partition)) created.push(partition.table);
    }
  }
  return created;
}
