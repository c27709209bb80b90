import { atMonolith, type Client, openSession } from '../pg/connect.js';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import type { TableRef } from '../catalog/model.js';
import { quoteLiteral } from '../pg/quote.js';
import type { MonolithColumn, PartitionLevel } from './route-plan.js';
import { sourceSessionUrl } from './source-session.js';

/** The prefix of carve's heartbeat messages in the monolith's WAL. */
export const HEARTBEAT_PREFIX = 'carve_heartbeat';

/**
 * sync's ordinary (non-replication) connection to the monolith: WAL position for lag and
 * --until-caught-up, heartbeats, type names for added columns and the ancestry of new partitions.
 * Reconnects lazily after a failure.
 */
export class SourceControl {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
  ) {}

  /** pg_current_wal_lsn(): every transaction committed so far has its commit record before it. */
  async currentWalLsn(): Promise<Lsn> {
    const { rows } = await this.query('SELECT pg_current_wal_lsn()::text AS lsn');
    return parseLsn(rows[0].lsn);
  }

  /**
   * Write a tiny non-transactional logical message into the monolith's WAL. It touches no table
   * and pgoutput does not forward it (carve does not ask for messages), but the walsender decodes
   * past it and its next keepalive reports a WAL position beyond it. That is how an idle monolith
   * is made to show a position at or beyond a point sync waits for (a hold, --until-caught-up):
   * pg_current_wal_lsn() can point past the end of the last record (after a page header), which
   * no keepalive reports until more WAL is written.
   */
  async emitHeartbeat(): Promise<Lsn> {
    const { rows } = await this.query(`SELECT pg_logical_emit_message(false, $1, '')::text AS lsn`, [
      HEARTBEAT_PREFIX,
    ]);
    return parseLsn(rows[0].lsn);
  }

  async formatType(typeOid: number, typeMod: number): Promise<string> {
    const { rows } = await this.query('SELECT format_type($1::oid, $2::int) AS type', [typeOid, typeMod]);
    return rows[0].type;
  }

  async relationName(relationId: number): Promise<TableRef | null> {
    const { rows } = await this.query(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid`,
      [relationId],
    );
    return rows[0] ? { schema: rows[0].schema, name: rows[0].name } : null;
  }

  /**
   * The table's columns now, for judging a schema change (route-plan.ts). A constant default given
   * at ADD COLUMN is stored once (attmissingval) and is what older rows hold: it is returned as a
   * SQL literal of the column's type.
   */
  async tableColumns(table: TableRef): Promise<Map<string, MonolithColumn>> {
    const { rows } = await this.query(
      `SELECT a.attname AS name, a.attnum::int AS attnum, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, a.atthasdef AS has_default, a.atthasmissing AS has_missing,
              a.attmissingval::text AS missing, a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity
         FROM pg_catalog.pg_attribute a
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
      [table.schema, table.name],
    );
    const columns = new Map<string, MonolithColumn>();
    for (const r of rows) {
      let missingLiteral: string | null = null;
      if (r.has_missing && r.missing !== null) {
        // attmissingval is a one-element array of the column's type: take the element as text.
        const element = await this.query(`SELECT ($1::text::${r.type}[])[1]::text AS value`, [r.missing]);
        const value = element.rows[0].value as string | null;
        missingLiteral = value === null ? `NULL::${r.type}` : `${quoteLiteral(value)}::${r.type}`;
      }
      columns.set(r.name, {
        name: r.name,
        attnum: r.attnum,
        type: r.type,
        notNull: r.not_null,
        hasDefault: r.has_default,
        missingLiteral,
        generated: r.generated,
        identity: r.identity,
      });
    }
    return columns;
  }

  /**
   * A partition's ancestors below its root, parents first, with what recreating each needs (empty
   * when the relation is not a partition now, e.g. detached or dropped since).
   */
  async partitionChain(relationId: number): Promise<PartitionLevel[]> {
    const { rows } = await this.query(
      `SELECT n.nspname AS schema, c.relname AS name, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound,
              CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
              pn.nspname AS parent_schema, pc.relname AS parent_name
         FROM pg_catalog.pg_partition_ancestors($1::oid) WITH ORDINALITY AS a(relid, depth)
         JOIN pg_catalog.pg_class c ON c.oid = a.relid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
         JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
         JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE c.relispartition
        ORDER BY a.depth DESC`,
      [relationId],
    );
    return rows.map((r) => ({
      table: { schema: r.schema, name: r.name },
      parent: { schema: r.parent_schema, name: r.parent_name },
      bound: r.bound,
      partitionKey: r.partkey ?? null,
    }));
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** The last query asked for: each next one starts after it settles. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * One query at a time on the one connection. Callers ask concurrently (the type of every column
   * of a new relation at once); pg would queue them itself, but warns that it stops doing so in
   * pg 9, and each caller racing a reconnect added its own listener to the new client.
   */
  private query(text: string, values?: unknown[]) {
    const result = this.queue.then(() => this.queryNow(text, values));
    this.queue = result.catch(() => {});
    return result;
  }

  private async queryNow(text: string, values?: unknown[]) {
    const client = await this.connection();
    try {
      return await client.query(text, values);
    } catch (error) {
      if (this.client === client) {
        this.client = undefined;
        client.end().catch(() => {});
      }
      throw error;
    }
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= openSession(atMonolith(sourceSessionUrl(this.url)), {
      applicationName: this.applicationName,
      connectTimeoutMs: 5000,
    }).finally(() => (this.connecting = undefined));
    const client = await this.connecting;
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }
}
