import type { CarveErrorCode } from '../../error-catalogue.js';
import { CarveError } from '../../errors.js';
import { ConnectionError } from '../connection-error.js';
import { errnoOf, isTransientError, SqlState, sqlStateOf } from '../sqlstate.js';

/** The codes a ReplicationError carries. */
export type ReplicationErrorCode = Extract<CarveErrorCode, `REPLICATION_${string}`>;

/**
 * A failure of a replication connection, with the server's SQLSTATE kept (when the server sent
 * one) and a `transient` verdict: true means "reconnect with backoff and resume from the last
 * acknowledged position", false means retrying the same thing will fail the same way.
 *
 * Codes:
 * - REPLICATION_SERVER_ERROR   the server sent an ErrorResponse (`sqlState` set), e.g. 57P01 when
 *                              the walsender was terminated, 42704 for a missing slot/publication
 * - REPLICATION_CONNECTION_LOST the socket closed or failed without an ErrorResponse, or the
 *                              connection could not be opened for a reason that may pass (refused,
 *                              timed out); a connection refused for good (authentication, missing
 *                              database) stays the ConnectionError it is (CONNECTION_*)
 * - REPLICATION_ENDED_BY_SERVER the server finished the stream on its own (e.g. during shutdown)
 * - REPLICATION_PROTOCOL_ERROR  a message carve cannot parse
 * - REPLICATION_FAILED          anything else (not transient)
 */
export class ReplicationError extends CarveError<ReplicationErrorCode> {
  constructor(
    code: ReplicationErrorCode,
    message: string,
    options: {
      sqlState?: string;
      transient: boolean;
      details?: Record<string, unknown>;
      hint?: string;
      cause?: unknown;
    },
  ) {
    super(code, message, {
      details: { ...options.details, sqlState: options.sqlState ?? null, transient: options.transient },
      hint: options.hint,
      cause: options.cause,
      transient: options.transient,
      sqlState: options.sqlState,
    });
    this.name = 'ReplicationError';
  }
}

/**
 * 55006 object_in_use: the slot is still held by a walsender, typically the one just terminated
 * or timed out; it goes away within moments, so it is worth retrying.
 */
const retryableStates = new Set<string>([SqlState.objectInUse]);

/**
 * Wrap whatever pg or the socket threw during replication into a ReplicationError. Other carve
 * errors (a bad slot name, a connection refused for good) keep their own code.
 */
export function toReplicationError(
  error: unknown,
  context: { slot: string; phase: 'connect' | 'start' | 'streaming' },
): CarveError {
  if (error instanceof ReplicationError) return error;
  if (error instanceof ConnectionError) return fromConnectionError(error, context);
  if (error instanceof CarveError) return error;
  const sqlState = sqlStateOf(error);
  const text = error instanceof Error ? error.message : String(error);
  if (sqlState !== undefined) return serverError(error, sqlState, text, context);
  if (!isTransientError(error)) {
    // Not the server, not the network: a bug or a misuse; retrying will not help.
    return new ReplicationError('REPLICATION_FAILED', `replication on slot ${context.slot} failed: ${text}`, {
      transient: false,
      details: { ...context },
      hint: 'Neither the server nor the network reported this (likely a bug in carve): run the command again with CARVE_DEBUG=1, and report the output if it fails the same way.',
      cause: error,
    });
  }
  return connectionLost(error, text, errnoOf(error) ?? null, context);
}

/**
 * A connection failure seen by the replication layer: the server's error stays a server error
 * (with its SQLSTATE), one that may pass is a lost connection (the engine reconnects), one that
 * will not (authentication, missing database) stays as it is.
 */
function fromConnectionError(
  error: ConnectionError,
  context: { slot: string; phase: 'connect' | 'start' | 'streaming' },
): CarveError {
  if (!error.transient) return error;
  if (error.sqlState !== undefined) return serverError(error, error.sqlState, error.message, context);
  return connectionLost(error, error.message, error.details.errno, context);
}

function serverError(
  error: unknown,
  sqlState: string,
  text: string,
  context: { slot: string; phase: 'connect' | 'start' | 'streaming' },
): ReplicationError {
  const severity = (error as { severity?: unknown }).severity;
  const transient = isTransientError(error) || retryableStates.has(sqlState);
  return new ReplicationError(
    'REPLICATION_SERVER_ERROR',
    `replication on slot ${context.slot} failed: ${text}`,
    {
      sqlState,
      transient,
      details: { ...context, severity: typeof severity === 'string' ? severity : null },
      hint: hintFor(sqlState, transient),
      cause: error,
    },
  );
}

function connectionLost(
  error: unknown,
  text: string,
  errno: unknown,
  context: { slot: string; phase: 'connect' | 'start' | 'streaming' },
): ReplicationError {
  return new ReplicationError(
    'REPLICATION_CONNECTION_LOST',
    `replication connection for slot ${context.slot} lost: ${text}`,
    {
      transient: true,
      details: { ...context, errno },
      hint: 'carve sync reconnects by itself, with backoff; streaming resumes from the last acknowledged position.',
      cause: error,
    },
  );
}

function hintFor(sqlState: string, transient: boolean): string {
  switch (sqlState) {
    case SqlState.undefinedObject:
      return 'Check that the replication slot and the publication exist on the source database.';
    case SqlState.objectInUse:
      return 'Another connection is streaming from this slot; stop it (or wait for a terminated one to exit) and retry.';
    case SqlState.insufficientPrivilege:
      return 'The role needs the REPLICATION attribute (or superuser) and SELECT on the published tables.';
    default:
      // A refusal that a retry cannot heal (a syntax the server does not know, a setting) must not
      // read as "wait and retry": the server's own words in the message say what to change.
      return transient
        ? 'The server ended the stream for now: carve sync reconnects by itself, and streaming resumes from the last acknowledged position.'
        : `The monolith's server refused the replication command (SQLSTATE ${sqlState}): the message gives its reason; fix that, then run the command again (streaming resumes from the last acknowledged position).`;
  }
}
