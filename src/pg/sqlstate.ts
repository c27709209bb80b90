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
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  undefinedObject: '42704',
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

/** Node-level socket errors that mean "the server went away", not "the request was wrong". */
const transientNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function isTransientError(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state !== undefined) return transientStates.has(state);
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && transientNodeCodes.has(code)) return true;
    const message = (error as { message?: unknown }).message;
    // pg reports a dropped socket without a code; these texts are pg's own, not the server's. The
    // last one comes from the first query on a client whose idle connection broke (server restart).
    if (
      typeof message === 'string' &&
      /Connection terminated|connection is closed|connection error and is not queryable/i.test(message)
    )
      return true;
  }
  return false;
}
