import { atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { advanceSequencesPastMax } from '../pg/sequences.js';
import type { Routing, ServiceRoute } from '../routing/model.js';
import { mapLimited } from '../concurrency.js';

export interface PostLoadResult {
  indexes: number;
  foreignKeys: number;
  sequences: number;
}

/** Builds secondary indexes and intra-database foreign keys (provision owns their DDL). */
export type IndexBuilder = (
  routing: Routing,
  service: ServiceRoute,
  jobs: number,
) => Promise<{ indexes: number; foreignKeys: number }>;

/**
 * After a database's tables are loaded: indexes and foreign keys, sequences moved past the copied
 * maximum, and fresh planner statistics. Every step is idempotent, so a resumed copy repeats it.
 */
export async function finishDatabase(
  routing: Routing,
  service: ServiceRoute,
  options: { jobs: number; buildIndexes: IndexBuilder },
): Promise<PostLoadResult> {
  const built = await options.buildIndexes(routing, service, options.jobs);
  // Per table and independent of each other: spread over `jobs` connections, largest tables first
  // (ANALYZE reads up to 30,000 pages of each), so one big table does not finish alone at the end.
  const queue = [...service.tables].sort((a, b) => b.sourceTable.totalBytes - a.sourceTable.totalBytes);
  let sequences = 0;
  const connections = Array.from({ length: Math.max(1, Math.min(options.jobs, queue.length)) }, (_, i) => i);
  await mapLimited(connections, connections.length, () =>
    withSession(atService(service.url), async (client) => {
      for (let route = queue.shift(); route; route = queue.shift()) {
        sequences += (await advanceSequencesPastMax(client, route.target)).length;
        await client.query(`ANALYZE ${quoteQualified(route.target.schema, route.target.name)}`);
      }
    }),
  );
  return { ...built, sequences };
}
