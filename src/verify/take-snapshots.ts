import { atMonolith, atService } from '../pg/connect.js';
import { formatLsn } from '../pg/lsn.js';
import type { AlignmentMethod } from './events.js';
import type { RunResources } from './run-resources.js';
import type { VerifyScope } from './run-scope.js';
import { openAnchor, SnapshotPool } from './snapshot-pool.js';
import { alignTargets } from './target-alignment.js';

/** Both sides read at one consistent point: the monolith at LSN `lsn`, every target holding exactly that. */
export interface Snapshots {
  method: AlignmentMethod;
  lsn: string;
  source: SnapshotPool;
  /** By database. */
  targets: Map<string, SnapshotPool>;
  alignMs: number;
}

/**
 * Align the targets with a monolith snapshot (target-alignment.ts), then take a snapshot in each
 * target before the hold (or the migration lock) is released: from then on sync may go on.
 */
export async function takeSnapshots(
  scope: VerifyScope,
  run: RunResources,
  runId: string,
): Promise<Snapshots> {
  const { routing, services, applicationName: app, options } = scope;
  const alignStart = Date.now();
  const aligned = await alignTargets({
    routing,
    services,
    routes: scope.routes,
    mode: options.alignment ?? 'auto',
    sync: options.sync,
    catchUp: options.catchUp === true,
    catchUpSinks: options.catchUpSinks ?? [],
    holdTimeoutMs: options.holdTimeoutMs ?? 300_000,
    applicationName: app,
    requestedBy: `carve verify ${runId}`,
    signal: options.signal,
  });
  const lsn = formatLsn(aligned.point.lsn);
  let targets: Map<string, SnapshotPool>;
  let source: SnapshotPool;
  try {
    const sourceAnchor = await openAnchor(atMonolith(routing.sourceUrl), app, aligned.point.snapshot);
    run.anchors.push(sourceAnchor);
    await aligned.point.close();
    source = new SnapshotPool(atMonolith(routing.sourceUrl), sourceAnchor.snapshot, MAX_POOL, app);
    targets = new Map();
    await Promise.all(
      services.map(async (s) => {
        const anchor = await openAnchor(atService(s.url), app);
        run.anchors.push(anchor);
        targets.set(s.database, new SnapshotPool(atService(s.url), anchor.snapshot, MAX_POOL, app));
      }),
    );
  } finally {
    await aligned.point.close();
    await aligned.release();
  }
  run.pools.push(source, ...targets.values());
  return { method: aligned.method, lsn, source, targets, alignMs: Date.now() - alignStart };
}

/**
 * Connections are opened on demand and kept per database; their number is bounded by the number of
 * workers (segments and foreign keys in flight), not by the pool, so that no worker ever waits for
 * a connection while holding another (which could deadlock).
 */
const MAX_POOL = 1000;
