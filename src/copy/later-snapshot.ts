import { atService, withSession } from '../pg/connect.js';
import { formatLsn, maxLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import type { Routing } from '../routing/model.js';
import { CopyLog } from '../state/copy-log.js';
import { startSync } from '../sync/index.js';
import type { SinkFactory } from '../sync/sink.js';
import { SyncState } from '../sync/state.js';
import type { CopyEvent } from './events.js';

/**
 * A resumed copy loads the remaining chunks under a snapshot S2 taken after the slot's consistent
 * point C. The database then holds rows of two moments: a unique value that moved from a row copied
 * at C to a row copied at S2 is held twice, a child copied at C may point to a parent deleted before
 * S2. The stream, replayed from C, repairs both — but only once it has passed S2. Unique keys and
 * foreign keys are built after the load (see provision's post-load objects), so before building
 * them the copy streams every such database up to S2 (recorded as `consistent_after`).
 *
 * Returns false when interrupted (the copy stays unfinished and `--resume` does this again).
 */
export async function catchUpLaterSnapshots(
  routing: Routing,
  emit: (event: CopyEvent) => void,
  signal?: AbortSignal,
  sinks: SinkFactory[] = [],
): Promise<boolean> {
  const { names } = routing;
  const log = new CopyLog(names.stateSchema, names.migration);
  const state = new SyncState(names.stateSchema, names.migration);
  const behind: { database: string; until: Lsn }[] = [];
  for (const service of routing.services) {
    await withSession(atService(service.url), async (client) => {
      const after = (await log.readMigration(client))?.consistentAfter;
      if (!after) return;
      const until = parseLsn(after);
      if ((await state.readPosition(client)).lsn < until) behind.push({ database: service.database, until });
    });
  }
  if (behind.length === 0) return true;

  const until = maxLsn(behind[0]!.until, ...behind.map((b) => b.until));
  const started = Date.now();
  emit({ type: 'catch-up-started', databases: behind.map((b) => b.database), lsn: formatLsn(until) });
  let changes = 0;
  const engine = await startSync({
    routing,
    duringCopy: true,
    ...(sinks.length ? { sinks } : {}),
    applicationName: `carve copy (${names.migration}) catch-up`,
    onEvent: (event) => {
      if (event.type === 'batch-applied') changes += event.changes;
    },
  });
  const onAbort = () => void engine.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (!signal?.aborted) await engine.waitForCatchUp(until);
  } catch (error) {
    if (!signal?.aborted) throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await engine.stop();
  }
  if (signal?.aborted) return false;
  emit({ type: 'catch-up-done', lsn: formatLsn(until), ms: Date.now() - started, changes });
  return true;
}
