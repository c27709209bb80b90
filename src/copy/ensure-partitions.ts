import { atService, withSession } from '../pg/connect.js';
import type { Routing } from '../routing/model.js';
import { createMissingPartitions } from '../sync/create-partition.js';
import type { CopyEvent } from './events.js';
import { mapLimited } from '../concurrency.js';

/**
 * Partitions created on the monolith after provision (say, next month's, made ahead by a
 * scheduler) are read by copy like the others; each missing one is created in its target first —
 * under the same parent, with the same bound, owned like it — as sync does for partitions created
 * later. Without it their rows would land in the target's DEFAULT partition, or fail the chunk.
 * Checks, keys and indexes declared on such a partition alone are not created.
 */
export async function ensurePartitions(routing: Routing, emit: (event: CopyEvent) => void): Promise<void> {
  const services = routing.services.filter((s) =>
    s.tables.some((r) => r.kind === 'owned' && (r.partitionTree ?? []).length > 0),
  );
  await mapLimited(services, 4, (service) =>
    withSession(atService(service.url), async (client) => {
      for (const table of await createMissingPartitions(client, service)) {
        emit({ type: 'partition-added', database: service.database, table: `${table.schema}.${table.name}` });
      }
    }),
  );
}
