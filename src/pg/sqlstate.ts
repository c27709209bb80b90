import { CarveError } from '../errors.js';

/**
 * SQLSTATE codes carve reacts to, by name. Errors are classified by code, never by message text.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export const SqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  notNullViolation: '23502',
  checkViolation: '23514',
  insufficientPrivilege: '42501',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  undefinedObject: '42704',
  undefinedFunction: '42883',
  duplicateObject: '42710',
  duplicateTable: '42P07',
  duplicateDatabase: '42P04',
  duplicateSchema: '42P06',
  duplicateFunction: '42723',
  invalidCatalogName: '3D000',
  objectInUse: '55006',
  objectNotInPrerequisiteState: '55000',
  lockNotAvailable: '55P03',
  readOnlySqlTransaction: '25006',
  invalidSnapshotIdentifier: '22023', // raised as invalid_parameter_value by SET TRANSACTION SNAPSHOT
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  queryCanceled: '57014',
  tooManyConnections: '53300',
  configurationLimitExceeded: '53400',
  connectionException: '08000',
  connectionDoesNotExist: '08003',
  connectionFailure: '08006',
  sqlClientUnableToEstablishConnection: '08001',
  protocolViolation: '08P01',
} as const;

/**
 * Why a connection could not be opened, by what the server or the socket said. The kinds become
 * the CONNECTION_* codes (src/pg/connection-error.ts); anything not listed is 'failed'.
 */
export type ConnectFailureKind =
  | 'auth-failed'
  | 'refused'
  | 'unknown-host'
  | 'database-missing'
  | 'permission-denied'
  | 'timeout'
  | 'too-many'
  | 'failed';

/** SQLSTATEs the server answers a connection attempt with. */
export const connectFailureBySqlState: Readonly<Record<string, ConnectFailureKind>> = {
  [SqlState.invalidPassword]: 'auth-failed',
  [SqlState.invalidAuthorizationSpecification]: 'auth-failed',
  [SqlState.invalidCatalogName]: 'database-missing',
  [SqlState.insufficientPrivilege]: 'permission-denied',
  [SqlState.tooManyConnections]: 'too-many',
};

/** Node socket and resolver errors (error.code) of a connection attempt. */
export const connectFailureByErrno: Readonly<Record<string, ConnectFailureKind>> = {
  ECONNREFUSED: 'refused',
  ENOTFOUND: 'unknown-host',
  EAI_AGAIN: 'unknown-host',
  EAI_NONAME: 'unknown-host',
  ETIMEDOUT: 'timeout',
};

/**
 * SQLSTATEs that mean "this connection is gone" when a query fails with them: the server was shut
 * down or crashed, or the backend was terminated (57P01 is also pg_terminate_backend).
 */
export const connectionLostStates = new Set<string>([
  SqlState.adminShutdown,
  SqlState.crashShutdown,
  SqlState.cannotConnectNow,
  SqlState.connectionException,
  SqlState.connectionDoesNotExist,
  SqlState.connectionFailure,
  SqlState.sqlClientUnableToEstablishConnection,
]);

/** Socket errors (error.code) that mean an open connection broke. */
export const connectionLostErrnos = new Set<string>([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/** Errors after which the same work, retried on a new connection, can succeed. */
const transientStates = new Set<string>([
  SqlState.serializationFailure,
  SqlState.deadlockDetected,
  SqlState.adminShutdown,
  SqlState.crashShutdown,
  SqlState.cannotConnectNow,
  SqlState.tooManyConnections,
  SqlState.connectionException,
  SqlState.connectionDoesNotExist,
  SqlState.connectionFailure,
  SqlState.sqlClientUnableToEstablishConnection,
]);

/**
 * Node-level socket and resolver errors that mean "the server or the network went away", not "the
 * request was wrong": a route or interface that drops for a while (ENETUNREACH, ENETDOWN,
 * EHOSTDOWN) or a resolver that answers "try again" (EAI_AGAIN) heals like a refused connection.
 */
const transientNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * The SQLSTATE of an error: pg's DatabaseError carries it in `code`; a CarveError standing for a
 * server error (a lost connection, a replication failure) keeps it in `sqlState`.
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (error instanceof CarveError) return error.sqlState;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The operating system error code (ECONNREFUSED …) of a socket or resolver error. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || error instanceof CarveError) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  // Node's happy-eyeballs connect reports every address tried in an AggregateError.
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errnoOf(inner[0]) : undefined;
}

/**
 * Errors after which the same work, retried on a new connection, can succeed. A CarveError says
 * so itself (`transient`); a lost connection always reaches callers as one (src/pg/connect.ts).
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof CarveError) return error.transient;
  const state = sqlStateOf(error);
  if (state !== undefined) return transientStates.has(state);
  const errno = errnoOf(error);
  return errno !== undefined && transientNodeCodes.has(errno);
}
