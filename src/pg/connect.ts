import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

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
   * database default (a session can still change it, the server cannot be told otherwise).
   * openSession/withSession pass CARVE_SEARCH_PATH.
   */
  searchPath?: string;
  /** 'database' opens a logical replication connection (walsender), for slot commands and streaming. */
  replication?: 'database';
  /** Statement timeout in ms; 0 or undefined means none. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

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
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    keepAlive: true,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.replication ? { replication: options.replication } : {}),
  } as pg.ClientConfig;
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

/** A connected client. The caller ends it (prefer `withClient`). */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, options));
  // An idle client whose server goes away emits 'error'; without a listener that kills the process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function withClient<T>(
  url: string,
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
 * in pg_temp).
 */
export const CARVE_SEARCH_PATH = 'pg_catalog, pg_temp';

/**
 * A connection for carve's own work (copy, sync, verify, provision, status): search_path pinned
 * to CARVE_SEARCH_PATH from the first statement. connect()/withClient() are for application-like
 * work (the demo's data generator and write load, tests) that relies on the usual search_path.
 */
export function openSession(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  return connect(url, { searchPath: CARVE_SEARCH_PATH, ...options });
}

export function withSession<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  return withClient(url, fn, { searchPath: CARVE_SEARCH_PATH, ...options });
}

/** The same server URL, pointed at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
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

/**
 * Query parameters that carry secrets: `password` (libpq and node-postgres read it from the query
 * as well as from the user-info part), `sslpassword` (the client key's passphrase), and anything
 * else that names a password, secret or token.
 */
export function isSecretParameter(name: string): boolean {
  return /pass|secret|token/i.test(name);
}

/** The URL without its password (user-info or secret query parameters), for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (isSecretParameter(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '<unparseable connection URL>';
  }
}

export { pg };
