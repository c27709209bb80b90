import type { CarveErrorCode, ConnectionDetails, ConnectionEndpoint } from '../error-catalogue.js';
import { CarveError } from '../errors.js';
import { redactText } from './redact.js';
import {
  connectFailureByErrno,
  connectFailureBySqlState,
  errnoOf,
  isTransientError,
  SqlState,
  sqlStateOf,
  type ConnectFailureKind,
} from './sqlstate.js';
import { quoteIdent } from './quote.js';

/** The codes a ConnectionError carries. */
export type ConnectionErrorCode = Extract<CarveErrorCode, `CONNECTION_${string}`>;

/** Where carve connects, as pg resolved it from the URL (and PG* variables): never the password. */
export interface ConnectionTarget {
  endpoint: ConnectionEndpoint;
  host: string;
  port: number;
  database: string;
  user: string;
  /** The password, only to scrub it from reasons the server or the socket gave; never printed. */
  secret: string | undefined;
  connectTimeoutMs: number;
}

/**
 * A connection that could not be opened, or broke while open: the kind as a stable code (chosen
 * by SQLSTATE and errno, never by message text), where to (host, port, database, user — never the
 * password), the server's or the socket's own reason in the message, and a hint for the endpoint.
 */
export class ConnectionError extends CarveError<ConnectionErrorCode> {
  constructor(
    code: ConnectionErrorCode,
    message: string,
    options: { details: ConnectionDetails; hint: string; cause: unknown; transient: boolean },
  ) {
    super(code, message, { ...options, sqlState: options.details.sqlState ?? undefined });
    this.name = 'ConnectionError';
  }
}

const codeOfKind: Record<ConnectFailureKind, ConnectionErrorCode> = {
  'auth-failed': 'CONNECTION_AUTH_FAILED',
  refused: 'CONNECTION_REFUSED',
  'unknown-host': 'CONNECTION_UNKNOWN_HOST',
  'database-missing': 'CONNECTION_DATABASE_MISSING',
  'permission-denied': 'CONNECTION_PERMISSION_DENIED',
  timeout: 'CONNECTION_TIMEOUT',
  'too-many': 'CONNECTION_TOO_MANY',
  failed: 'CONNECTION_FAILED',
};

/** Worth retrying later: the server may come back, answer, or have room again. */
const transientKinds = new Set<ConnectFailureKind>(['refused', 'unknown-host', 'timeout', 'too-many']);

const endpointName: Record<ConnectionEndpoint, string> = {
  monolith: 'the monolith',
  service: 'service database',
  server: 'the target server',
  database: 'database',
};

/** Where the URL of each endpoint comes from, for hints. */
const urlSource: Record<ConnectionEndpoint, string> = {
  monolith: "the monolith URL (the plan's `source`; --source for carve demo seed and load)",
  service: "the plan's `target` URL (or the service's own `target`)",
  server: "the plan's `target` URL (or the service's own `target`)",
  database: 'the connection URL',
};

/**
 * A failed connection attempt as a ConnectionError. `timedOut`: carve's connect timer fired;
 * `closed`: the socket ended during startup without a server error (a server going down);
 * `noPassword`: the server asked for a password and the client had none to give.
 */
export function connectFailure(
  error: unknown,
  target: ConnectionTarget,
  { timedOut, closed, noPassword = false }: { timedOut: boolean; closed: boolean; noPassword?: boolean },
): ConnectionError {
  const sqlState = sqlStateOf(error);
  const errno = errnoOf(error);
  // No password to give fails inside the client (no SQLSTATE): an authentication failure all the same.
  const missingPassword = noPassword && sqlState === undefined;
  const kind: ConnectFailureKind =
    (sqlState !== undefined ? connectFailureBySqlState[sqlState] : undefined) ??
    (errno !== undefined ? connectFailureByErrno[errno] : undefined) ??
    (missingPassword ? 'auth-failed' : timedOut ? 'timeout' : 'failed');
  const at = `${target.host}:${target.port}`;
  const what =
    target.endpoint === 'service' ? `service database ${target.database}` : endpointName[target.endpoint];
  const reason = missingPassword
    ? 'the server asks for a password and none was given (not in the URL, PGPASSWORD or ~/.pgpass)'
    : reasonOf(error, target);
  const db = `database ${target.database}`;
  const messages: Record<ConnectFailureKind, string> = {
    'auth-failed': `${capital(what)} at ${at} rejected user "${target.user}" (${db}): ${reason}`,
    refused: `Cannot connect to ${what} at ${at} (${db}): connection refused`,
    'unknown-host': `Cannot connect to ${what}: host "${target.host}" is unknown (${errno ?? reason})`,
    'database-missing': `${capital(db)} does not exist on ${at} (${endpointName[target.endpoint]})`,
    'permission-denied': `User "${target.user}" may not connect to ${db} on ${at}: ${reason}`,
    timeout: `${capital(what)} at ${at} (${db}) did not answer within ${target.connectTimeoutMs / 1000} s`,
    'too-many': `${capital(what)} at ${at} refuses more connections (${db}): ${reason}`,
    failed: `Cannot connect to ${what} at ${at} (${db}): ${reason}`,
  };
  return new ConnectionError(codeOfKind[kind], messages[kind], {
    details: detailsOf(target, sqlState, errno),
    hint: hintFor(kind, target, sqlState),
    cause: error,
    transient:
      transientKinds.has(kind) ||
      (kind === 'failed' && (isTransientError(error) || (closed && sqlState === undefined))),
  });
}

/** An open connection that broke (the server went away, the backend was terminated, the network). */
export function connectionLost(error: unknown, target: ConnectionTarget, why: unknown): ConnectionError {
  const sqlState = sqlStateOf(why) ?? sqlStateOf(error);
  const errno = errnoOf(why) ?? errnoOf(error);
  const what =
    target.endpoint === 'service' ? `service database ${target.database}` : endpointName[target.endpoint];
  const on = target.endpoint === 'service' ? '' : ` (database ${target.database})`;
  const reason = why === undefined ? 'the server closed the connection' : reasonOf(why, target);
  return new ConnectionError(
    'CONNECTION_LOST',
    `Lost the connection to ${what} at ${target.host}:${target.port}${on}: ${reason}`,
    {
      details: detailsOf(target, sqlState, errno),
      hint:
        'Check that the server is up and reachable, then run the command again: carve sync reconnects by ' +
        'itself, carve copy and carve verify continue with --resume, and nothing half-applied is kept.',
      cause: error,
      transient: true,
    },
  );
}

function detailsOf(
  target: ConnectionTarget,
  sqlState: string | undefined,
  errno: string | undefined,
): ConnectionDetails {
  return {
    endpoint: target.endpoint,
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    sqlState: sqlState ?? null,
    errno: errno ?? null,
  };
}

function hintFor(kind: ConnectFailureKind, target: ConnectionTarget, sqlState?: string): string {
  const { endpoint } = target;
  const at = `${target.host}:${target.port}`;
  const url = urlSource[endpoint];
  const again = 'then run the command again';
  switch (kind) {
    case 'auth-failed':
      if (endpoint === 'service')
        return (
          `Run \`carve provision --plan <file>\` if it has not run yet: carve logs in to service databases as carve's ` +
          `role for the service ("${target.user}", the plan's carve_role), which provision creates. Its password comes ` +
          `from the plan's carve_password_env or <secrets dir>/${target.user}.password (give --secrets-dir as to ` +
          `provision), else PGPASSWORD or ~/.pgpass; check those, and that pg_hba.conf on ${at} lets "${target.user}" in; ${again}.`
        );
      return `Check the user and password in ${url} (a password can also come from PGPASSWORD or ~/.pgpass), and that pg_hba.conf on ${at} lets "${target.user}" in; ${again}.`;
    case 'refused':
      return `Start PostgreSQL at ${at} (listening on TCP: listen_addresses, port), or correct the host and port in ${url}; ${again}.`;
    case 'unknown-host':
      return `Correct the host name "${target.host}" in ${url}, or check this machine's DNS; ${again}.`;
    case 'database-missing':
      if (endpoint === 'service')
        return `Create it with \`carve provision --plan <file>\` (it creates every service database and its tables), ${again}.`;
      if (endpoint === 'server')
        return `Name an existing database in ${url} (carve connects there to create the service databases; usually postgres), ${again}.`;
      return `Correct the database name in ${url}, or create database ${target.database} on ${at}; ${again}.`;
    case 'permission-denied':
      if (endpoint === 'service')
        return `Run \`carve provision --plan <file>\` again (it grants CONNECT on ${target.database} to carve's role "${target.user}"), ${again}.`;
      return `Run GRANT CONNECT ON DATABASE ${target.database} TO ${target.user}; on ${at}, or use another user in ${url}; ${again}.`;
    case 'timeout':
      return `Check that ${at} is reachable from here (firewall, VPN, security group), or allow more time with ?connect_timeout=<seconds> in ${url}; ${again}.`;
    case 'too-many':
      return `Close idle sessions on ${at}, or raise max_connections (or the role's or database's CONNECTION LIMIT), or run carve with fewer --jobs; ${again}.`;
    case 'failed':
      // At connection time 55000 is a database that refuses connections (datallowconn off).
      if (sqlState === SqlState.objectNotInPrerequisiteState)
        return `Let database ${target.database} take connections again: ALTER DATABASE ${quoteIdent(target.database)} WITH ALLOW_CONNECTIONS true; (as its owner or a superuser, connected to another database on ${at}), ${again}.`;
      return `Check ${url} and the server log on ${at}; ${again}.`;
  }
}

/** The server's or the socket's own words, with the password scrubbed should they echo it. */
function reasonOf(error: unknown, target: ConnectionTarget): string {
  const text =
    error instanceof Error ? error.message || error.name : typeof error === 'string' ? error : String(error);
  const sqlState = sqlStateOf(error);
  const scrubbed = redactText(text, target.secret);
  return sqlState && !(error instanceof CarveError) ? `${scrubbed} (SQLSTATE ${sqlState})` : scrubbed;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
