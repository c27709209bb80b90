import { atService, withSession } from '../pg/connect.js';
import type { Routing } from '../routing/model.js';
import type { CopyLog } from '../state/copy-log.js';
import { mapLimited } from '../concurrency.js';
import type { CopyEvent, RouteCopyPlan } from './events.js';
import { finishDatabase, type IndexBuilder } from './post-load.js';

/**
 * Once every chunk is in: each database's post-load (indexes, foreign keys, sequences, statistics),
 * then its copy is marked finished. Indexes compete with the copy for the same two cores, so they
 * are built once the data is in; largest databases first, so that the longest index builds do not
 * start last.
 */
export async function finishDatabases(
  routing: Routing,
  plans: readonly RouteCopyPlan[],
  log: CopyLog,
  options: { jobs: number; buildIndexes: IndexBuilder; emit: (event: CopyEvent) => void },
): Promise<void> {
  const { jobs, emit } = options;
  const size = (database: string) =>
    plans.filter((p) => p.database === database).reduce((total, p) => total + p.estimatedBytes, 0);
  const bySize = [...routing.services].sort((a, b) => size(b.database) - size(a.database));
  await mapLimited(bySize, jobs, async (service) => {
    const t0 = Date.now();
    emit({ type: 'post-load-started', database: service.database });
    const result = await finishDatabase(routing, service, { jobs, buildIndexes: options.buildIndexes });
    await withSession(atService(service.url), (client) => log.markCopyFinished(client));
    emit({ type: 'post-load-done', database: service.database, ms: Date.now() - t0, ...result });
  });
}
