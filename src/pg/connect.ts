import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { ConnectionEndpoint } from '../error-catalogue.js';
import { connectFailure, type ConnectionTarget } from './connection-error.js';
import { guardConnection } from './connection-guard.js';
import { isSecretParameter, redactUrl } from './redact.js';

/**
 * Date/time values are kept as the server's text: JavaScript Dates lose microseconds and
 * time zones, and carve moves values, it does not interpret them.
 */
const TEXT_TYPE_OIDS = [1082, 1083, 1114, 1184, 1266, 1182, 1115, 1185];

const rawTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (TEXT_TYPE_OIDS.includes(oid) && format !== 'binary') return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export type Client = pg.Client;
export type QueryResultRow = pg.QueryResultRow;

export interface ConnectOptions {
  applicationName?: string;
  /**
   * search_path set in the startup packet, before the first statement and above any role or
   * database default. openSession/withSession pass CARVE_SEARCH_PATH.
   */
  searchPath?: string;
  /** 'database' opens a logical replication connection (walsender), for slot commands and streaming. */
  replication?: 'database';
  /** Statement timeout in ms; 0 or undefined means none. */
  statementTimeoutMs?: number;
  /** Default 15 s; a `connect_timeout` parameter (seconds, as libpq) in the URL wins. */
  connectTimeoutMs?: number;
}

/**
 * A connection URL and what it points at (the monolith, a service database, the target server),
 * which picks the words and the hint of a connection failure. A plain string is just "a database".
 */
export type ConnectTo = string | { url: string; endpoint: ConnectionEndpoint };

export const atMonolith = (url: string): ConnectTo => ({ url, endpoint: 'monolith' });
export const atService = (url: string): ConnectTo => ({ url, endpoint: 'service' });
export const atServer = (url: string): ConnectTo => ({ url, endpoint: 'server' });

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

export function clientConfig(url: string, options: ConnectOptions = {}): pg.ClientConfig {
  const config = parseIntoClientConfig(url);
  // pg-connection-string decodes the path with decodeURI, which leaves `%2F`, `%3F`, `%23`, `%40` …
  // encoded: a database called `a/b` would be looked up as `a%2Fb`. Decode it completely instead.
  const database = databaseOf(url);
  const startup = [
    typeof config.options === 'string' ? config.options : '',
    options.searchPath === undefined ? '' : `-c search_path=${options.searchPath.replaceAll(' ', '')}`,
  ]
    .filter(Boolean)
    .join(' ');
  return {
    ...config,
    ...(database === undefined ? {} : { database }),
    ...(startup ? { options: startup } : {}),
    application_name: options.applicationName ?? 'carve',
    types: rawTypes,
    connectionTimeoutMillis: connectTimeoutOf(url, options),
    keepAlive: true,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.replication ? { replication: options.replication } : {}),
  } as pg.ClientConfig;
}

/** The startup messages in which the server asks the client for a password (pg's event names). */
const PASSWORD_REQUESTS = [
  'authenticationCleartextPassword',
  'authenticationMD5Password',
  'authenticationSASL',
] as const;

/**
 * A connected client. The caller ends it (prefer `withClient`). This is the one place carve
 * connects: a failure to connect, and a connection that breaks later, reach the caller as a
 * ConnectionError (CONNECTION_*) naming the endpoint and keeping the server's reason.
 */
export async function connect(to: ConnectTo, options: ConnectOptions = {}): Promise<pg.Client> {
  const { url, endpoint } = typeof to === 'string' ? { url: to, endpoint: 'database' as const } : to;
  let client: pg.Client;
  try {
    client = new pg.Client(clientConfig(url, options));
  } catch (error) {
    throw connectFailure(error, unparsedTarget(url, endpoint, options), { timedOut: false, closed: false });
  }
  // An idle client whose server goes away emits 'error'; without a listener that kills the process.
  client.on('error', () => {});
  const target = targetOf(client, endpoint, connectTimeoutOf(url, options));
  // pg destroys the socket when its connect timer fires; this one, started just before with the
  // same delay, fires first, so a failure that follows is known to be the timeout.
  let timedOut = false;
  const timer = setTimeout(() => (timedOut = true), target.connectTimeoutMs);
  timer.unref();
  // The server closing the socket during startup (shutting down, restarting) is worth a retry.
  let closed = false;
  const onEnd = () => (closed = true);
  client.connection.once('end', onEnd);
  // The server asked for a password: when none was found (URL, PGPASSWORD, ~/.pgpass), pg fails
  // on its own side, without a SQLSTATE; this tells that apart from other failures.
  let passwordAsked = false;
  const onAsk = () => (passwordAsked = true);
  for (const request of PASSWORD_REQUESTS) client.connection.once(request, onAsk);
  try {
    await client.connect();
  } catch (error) {
    const noPassword = passwordAsked && typeof client.password !== 'string';
    throw connectFailure(error, target, { timedOut, closed, noPassword });
  } finally {
    clearTimeout(timer);
    client.connection.removeListener('end', onEnd);
    for (const request of PASSWORD_REQUESTS) client.connection.removeListener(request, onAsk);
  }
  guardConnection(client, target);
  return client;
}

export async function withClient<T>(
  url: ConnectTo,
  fn: (client: pg.Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Run `fn` inside BEGIN … COMMIT, rolling back on any error. */
export async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * The search_path of every carve session: only the system catalog, then the session's own
 * temporary schema (named last, so that it is never searched before pg_catalog). No schema a
 * service role can create objects in is searched, so no function, operator, type or table of a
 * service can stand in for a built-in in carve's SQL (functions and operators are never looked up
 * in pg_temp). See docs/security.md.
 */
export const CARVE_SEARCH_PATH = 'pg_catalog, pg_temp';

/**
 * A connection for carve's own work (copy, sync, verify, provision, status): search_path pinned
 * to CARVE_SEARCH_PATH from the first statement. connect()/withClient() are for application-like
 * work (the demo's data generator and write load, tests) that relies on the usual search_path.
 */
export function openSession(to: ConnectTo, options: ConnectOptions = {}): Promise<pg.Client> {
  return connect(to, { searchPath: CARVE_SEARCH_PATH, ...options });
}

export function withSession<T>(
  to: ConnectTo,
  fn: (client: pg.Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  return withClient(to, fn, { searchPath: CARVE_SEARCH_PATH, ...options });
}

/** The same server URL, pointed at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The database named by a connection URL's path, fully percent-decoded (undefined without one). */
export function databaseOf(url: string): string | undefined {
  try {
    const path = new URL(url).pathname.slice(1);
    return path ? decodeURIComponent(path) : undefined;
  } catch {
    return undefined;
  }
}

/** The same server URL, logging in as `user` (its password, if any, left out). */
export function withUser(url: string, user: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (key === 'user' || isSecretParameter(key)) parsed.searchParams.delete(key);
  }
  return parsed.toString();
}

/** The same URL with `password` as its password. */
export function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** The timeout of a connection attempt: the URL's `connect_timeout` (seconds), else the option. */
function connectTimeoutOf(url: string, options: ConnectOptions): number {
  let fromUrl: string | null = null;
  try {
    fromUrl = new URL(url).searchParams.get('connect_timeout');
  } catch {
    // pg reports the unparseable URL itself.
  }
  const seconds = fromUrl === null ? NaN : Number(fromUrl);
  if (Number.isFinite(seconds) && seconds > 0) return Math.max(1000, Math.round(seconds * 1000));
  return options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
}

/** Where a client connects, from pg's own reading of the URL (host, port, database, user). */
function targetOf(
  client: pg.Client,
  endpoint: ConnectionEndpoint,
  connectTimeoutMs: number,
): ConnectionTarget {
  return {
    endpoint,
    host: client.host,
    port: client.port,
    database: client.database ?? '',
    user: client.user ?? '',
    secret: typeof client.password === 'string' ? client.password : undefined,
    connectTimeoutMs,
  };
}

function unparsedTarget(
  url: string,
  endpoint: ConnectionEndpoint,
  options: ConnectOptions,
): ConnectionTarget {
  return {
    endpoint,
    host: '<unparseable URL>',
    port: 0,
    database: '',
    user: '',
    secret: undefined,
    connectTimeoutMs: connectTimeoutOf(url, options),
  };
}

export { isSecretParameter, redactUrl };
export { pg };
