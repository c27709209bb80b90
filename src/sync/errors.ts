import { CarveError, isCarveError } from '../errors.js';
import { isTransientError, SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { SyncErrorInfo } from './events.js';
import { SinkFailure } from './sink.js';

/** The error as an operator sees it: a CarveError, with the target database when one failed. */
export function syncFailure(error: unknown): unknown {
  if (!(error instanceof SinkFailure)) return error;
  const cause = error.cause;
  if (isCarveError(cause)) return cause;
  if (error.kind !== 'applier') {
    return new CarveError('SYNC_SINK_FAILED', `Sink ${error.sink} (${error.kind}) failed: ${error.message}`, {
      details: { sink: error.sink, kind: error.kind },
      hint: 'Fix the cause in that destination (its position is unchanged) and run carve sync again.',
      cause,
    });
  }
  return new CarveError('SYNC_APPLY_FAILED', `Applying changes to ${error.sink} failed: ${error.message}`, {
    details: { database: error.sink, sqlState: sqlStateOf(cause) ?? null },
    hint: 'Fix the cause in the service database (the position there is unchanged) and run carve sync again.',
    cause,
  });
}

/** For events: code, message, whether it is transient, the database and SQLSTATE when known. */
export function describeSyncError(error: unknown): SyncErrorInfo {
  const database = error instanceof SinkFailure ? error.sink : undefined;
  const cause = error instanceof SinkFailure ? error.cause : error;
  const sqlState = sqlStateOf(cause);
  return {
    code: isCarveError(cause) ? cause.code : (sqlState ?? 'ERROR'),
    message: cause instanceof Error ? cause.message : String(cause),
    transient: isTransientError(cause),
    ...(database ? { database } : {}),
    ...(sqlState ? { sqlState } : {}),
  };
}

/**
 * Worth a new session after a backoff: lost connections, restarting servers, a terminated
 * walsender, a slot still held by one. Not: schema changes, bad data, missing objects, privileges.
 */
export function isTransientSyncError(error: unknown): boolean {
  const cause = error instanceof SinkFailure ? error.cause : error;
  if (isCarveError(cause)) return cause.transient;
  return isTransientError(cause) || sqlStateOf(cause) === SqlState.objectInUse;
}

/** An applier's batch broke a unique constraint (possibly only because it was reordered). */
export function isUniqueViolation(error: unknown): error is SinkFailure {
  return (
    error instanceof SinkFailure &&
    error.kind === 'applier' &&
    sqlStateOf(error.cause) === SqlState.uniqueViolation
  );
}
