import { writeRepairFile } from './repair-file.js';
import { checkRowsAndForeignKeys } from './check-rows.js';
import { addPartitionDifferences } from './partition-check.js';
import { openStateSessions } from './preflight.js';
import { chooseRun, recordRunFinished, recordRunStarted } from './run-record.js';
import { RunResources } from './run-resources.js';
import { scopeVerify } from './run-scope.js';
import { verifySequences } from './sequence-check.js';
import { takeSnapshots } from './take-snapshots.js';
import type { VerifyResult } from './events.js';
import type { VerifyOptions } from './options.js';

export type * from './events.js';
export type { HoldProvider, VerifyOptions } from './options.js';

/**
 * Prove that the service databases hold exactly the monolith's rows, at one consistent point:
 *
 * 1. align: a temporary logical slot gives a monolith snapshot S exactly at LSN L; every target is
 *    brought to L (sync held there, or its recorded position proven equivalent — target-alignment.ts),
 *    and a snapshot is taken in each target before the hold is released (take-snapshots.ts);
 * 2. rows: every route (owned tables and projections) is compared segment by segment with bucket
 *    checksums computed on the server, and differing buckets are narrowed to the exact keys
 *    (compare-segment.ts); progress is stored per segment so an interrupted verify resumes;
 * 3. cut foreign keys are checked across databases alongside the rows (orphan-check.ts);
 * 4. sequences are checked against the columns they feed (sequence-check.ts).
 *
 * Reads only, except carve's own verify tables in the targets' state schema (and the hold rows).
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const scope = scopeVerify(options);
  const { emit, services, routes } = scope;
  const run = new RunResources(options.repairSqlFile !== undefined);
  try {
    await openStateSessions(scope, run);
    const record = await chooseRun(scope, run);
    const { runId } = record;

    // 1. One consistent point on both sides.
    const snapshots = await takeSnapshots(scope, run, runId);
    const { lsn, method: alignment } = snapshots;
    emit({ type: 'aligned', lsn, alignment, ms: snapshots.alignMs });
    await recordRunStarted(scope, run, runId, lsn);
    emit({ type: 'verify-started', runId, lsn, alignment, routes: routes.length, resumed: record.resumed });

    // 2, 3. Rows and cut foreign keys.
    const checked = await checkRowsAndForeignKeys(scope, run, snapshots, record);
    await addPartitionDifferences(checked.tables, routes, snapshots);

    // 4. Sequences.
    const seqStart = Date.now();
    const sequences = await verifySequences(scope, snapshots);
    const sequencesMs = Date.now() - seqStart;

    const ok =
      checked.tables.every((t) => t.status === 'ok') &&
      checked.foreignKeys.every((f) => f.status !== 'orphans') &&
      sequences.every((s) => !s.failing);
    await recordRunFinished(scope, run, runId, ok);
    if (run.spool && options.repairSqlFile) {
      const repairRoutes = routes.map((r, index) => ({ index, routeId: r.id, database: r.database }));
      await writeRepairFile(
        options.repairSqlFile,
        { runId, lsn },
        services,
        repairRoutes,
        run.spool,
        sequences,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    emit({ type: 'verify-finished', ok, seconds });
    return {
      ok,
      runId,
      lsn,
      alignment,
      seconds,
      tables: checked.tables,
      foreignKeys: checked.foreignKeys,
      sequences,
      rowsRead: checked.rowsRead,
      timings: {
        alignMs: snapshots.alignMs,
        rowsMs: checked.rowsMs,
        foreignKeysMs: checked.foreignKeysMs,
        sequencesMs,
      },
    };
  } finally {
    await run.close();
  }
}
