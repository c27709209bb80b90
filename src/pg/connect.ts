import pg from 'pg';

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
  /** 'database' opens a logical replication connection (walsender), for slot commands and streaming. */
  replication?: 'database';
  /** Statement timeout in ms; 0 or undefined means none. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export function clientConfig(url: string, options: ConnectOptions = {}): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: options.applicationName ?? 'carve',
    types: rawTypes,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    keepAlive: true,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.replication ? { replication: options.replication } : {}),
  } as pg.ClientConfig;
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

/** The same server URL, pointed at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable connection URL>';
  }
}

export { pg };
