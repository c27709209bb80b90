import { randomUUID } from 'node:crypto';
import type { RunResources } from './run-resources.js';
import type { VerifyScope } from './run-scope.js';

/** The run's row in every verified database (verify_runs): which run, read at which LSN, how it ended. */
export interface RunRecord {
  runId: string;
  /** An interrupted run continued (`resume`): its clean segments are not read again. */
  resumed: boolean;
}

/** A new run, or with `resume` the latest unfinished one found in any verified database. */
export async function chooseRun(scope: VerifyScope, run: RunResources): Promise<RunRecord> {
  if (scope.options.resume) {
    const found = (
      await Promise.all([...run.stateClients.values()].map((c) => scope.state.latestUnfinished(c)))
    ).filter((r) => r !== undefined);
    found.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
    if (found[0]) return { runId: found[0].runId, resumed: true };
  }
  return { runId: randomUUID(), resumed: false };
}

export async function recordRunStarted(
  scope: VerifyScope,
  run: RunResources,
  runId: string,
  lsn: string,
): Promise<void> {
  await Promise.all([...run.stateClients.values()].map((client) => scope.state.startRun(client, runId, lsn)));
}

export async function recordRunFinished(
  scope: VerifyScope,
  run: RunResources,
  runId: string,
  ok: boolean,
): Promise<void> {
  await Promise.all([...run.stateClients.values()].map((client) => scope.state.finishRun(client, runId, ok)));
}
