import { CarveError } from '../../errors.js';
import { inTransaction, type Client } from '../connect.js';
import { quoteIdent, quoteQualified } from '../quote.js';

/** Schema and table name (structurally the catalog's TableRef; pg/ does not import upward). */
export interface TableRef {
  schema: string;
  name: string;
}

export interface EnsurePublicationResult {
  created: boolean;
  added: TableRef[];
  removed: TableRef[];
  /** publish_via_partition_root or the published actions had to be changed. */
  optionsChanged: boolean;
}

/**
 * Make publication `name` publish exactly `tables`: create it
 * (`FOR TABLE … WITH (publish_via_partition_root = true)`), or alter an existing one to add and
 * drop tables and to set the options carve relies on. Changes to partitions then arrive as
 * changes of their partitioned root, which is the table the plan routes.
 *
 * Runs in one transaction; idempotent. A FOR ALL TABLES publication is refused
 * (PUBLICATION_FOR_ALL_TABLES): it cannot be narrowed.
 */
export async function ensurePublication(
  client: Client,
  name: string,
  tables: readonly TableRef[],
): Promise<EnsurePublicationResult> {
  const wanted = dedupe(tables);
  return inTransaction(client, async () => {
    const existing = await client.query(
      `SELECT puballtables, pubviaroot, pubinsert, pubupdate, pubdelete, pubtruncate
         FROM pg_publication WHERE pubname = $1`,
      [name],
    );
    const pub = existing.rows[0];
    if (!pub) {
      const list = wanted.map((t) => quoteQualified(t.schema, t.name)).join(', ');
      await client.query(
        `CREATE PUBLICATION ${quoteIdent(name)}${list ? ` FOR TABLE ${list}` : ''} WITH (publish_via_partition_root = true, publish = 'insert, update, delete, truncate')`,
      );
      return { created: true, added: wanted, removed: [], optionsChanged: false };
    }
    if (pub.puballtables) {
      throw new CarveError(
        'PUBLICATION_FOR_ALL_TABLES',
        `publication ${name} publishes ALL TABLES; carve needs one limited to the moving tables`,
        {
          details: { publication: name },
          hint: 'Choose another publication name in the plan, or drop this publication.',
        },
      );
    }
    const current = await publishedTables(client, name);
    const key = (t: TableRef): string => JSON.stringify([t.schema, t.name]);
    const currentKeys = new Set(current.map(key));
    const wantedKeys = new Set(wanted.map(key));
    const added = wanted.filter((t) => !currentKeys.has(key(t)));
    const removed = current.filter((t) => !wantedKeys.has(key(t)));
    const target = quoteIdent(name);
    if (added.length > 0) {
      await client.query(
        `ALTER PUBLICATION ${target} ADD TABLE ${added.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`,
      );
    }
    if (removed.length > 0) {
      await client.query(
        `ALTER PUBLICATION ${target} DROP TABLE ${removed.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`,
      );
    }
    const optionsChanged =
      !pub.pubviaroot || !pub.pubinsert || !pub.pubupdate || !pub.pubdelete || !pub.pubtruncate;
    if (optionsChanged) {
      await client.query(
        `ALTER PUBLICATION ${target} SET (publish_via_partition_root = true, publish = 'insert, update, delete, truncate')`,
      );
    }
    return { created: false, added, removed, optionsChanged };
  });
}

/** The tables added to the publication itself (not expanded to partitions), in name order. */
export async function publishedTables(client: Client, name: string): Promise<TableRef[]> {
  const { rows } = await client.query(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_publication_rel AS pr
       JOIN pg_publication AS p ON p.oid = pr.prpubid
       JOIN pg_class AS c ON c.oid = pr.prrelid
       JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE p.pubname = $1
      ORDER BY 1, 2`,
    [name],
  );
  return rows.map((row) => ({ schema: row.schema, name: row.name }));
}

/** Drop the publication if it exists; returns whether it did. */
export async function dropPublication(client: Client, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (rows.length === 0) return false;
  await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
  return true;
}

function dedupe(tables: readonly TableRef[]): TableRef[] {
  const seen = new Set<string>();
  const result: TableRef[] = [];
  for (const table of tables) {
    const key = JSON.stringify([table.schema, table.name]);
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ schema: table.schema, name: table.name });
  }
  return result;
}
