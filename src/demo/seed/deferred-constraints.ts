import type { Client } from '../../pg/connect.js';
import { quoteIdent, quoteQualified } from '../../pg/quote.js';

/** Foreign keys and secondary indexes set aside during a bulk load, as PostgreSQL rendered them. */
export interface DeferredConstraints {
  schema: string;
  indexes: { table: string; name: string; definition: string }[];
  /** `partitioned`: keys on partitioned tables cannot be added NOT VALID, so they are added checked. */
  foreignKeys: { table: string; name: string; definition: string; partitioned: boolean }[];
}

/**
 * Drop the foreign keys and the secondary (non-constraint) indexes of `tables`, remembering their
 * definitions: row-by-row FK checks and index maintenance cost more than the generation itself,
 * while building each index once and validating each key with one join afterwards is cheap —
 * the same approach pg_restore takes. Indexes of partitioned tables are left in place (their
 * definition cannot be replayed as one statement).
 */
export async function dropForLoad(
  client: Client,
  schema: string,
  tables: readonly string[],
): Promise<DeferredConstraints> {
  const { rows: foreignKeys } = await client.query<{
    table: string;
    name: string;
    definition: string;
    partitioned: boolean;
  }>(
    `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition,
            t.relkind = 'p' AS partitioned
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.contype = 'f' AND c.conparentid = 0 AND t.relnamespace = $1::regnamespace AND t.relname = ANY($2::text[])
      ORDER BY c.oid`,
    [schema, [...tables]],
  );
  const { rows: indexes } = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT t.relname AS table, x.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
      WHERE t.relkind = 'r' AND NOT t.relispartition AND t.relnamespace = $1::regnamespace AND t.relname = ANY($2::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
      ORDER BY i.indexrelid`,
    [schema, [...tables]],
  );
  await client.query('BEGIN');
  try {
    for (const fk of foreignKeys) {
      await client.query(
        `ALTER TABLE ${quoteQualified(schema, fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`,
      );
    }
    for (const index of indexes) await client.query(`DROP INDEX ${quoteQualified(schema, index.name)}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return { schema, indexes, foreignKeys };
}

/**
 * Recreate what dropForLoad removed: the indexes side by side on the given connections; then each
 * foreign key, added NOT VALID (a catalog change) and validated afterwards, also side by side —
 * VALIDATE takes locks that do not conflict with each other, where a plain ADD would queue every
 * key behind the others on the shared parents. The keys end up exactly as declared (validated).
 * `onForeignKeys` fires once, between the two phases.
 */
export async function restoreAfterLoad(
  clients: readonly Client[],
  deferred: DeferredConstraints,
  onForeignKeys: () => void = () => {},
): Promise<void> {
  const table = (t: string) => quoteQualified(deferred.schema, t);
  await inParallel(clients, deferred.indexes, (client, index) => client.query(index.definition));
  onForeignKeys();
  for (const fk of deferred.foreignKeys) {
    await clients[0]!.query(
      `ALTER TABLE ${table(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition}${fk.partitioned ? '' : ' NOT VALID'}`,
    );
  }
  const unvalidated = deferred.foreignKeys.filter((fk) => !fk.partitioned);
  await inParallel(clients, unvalidated, (client, fk) =>
    client.query(`ALTER TABLE ${table(fk.table)} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`),
  );
}

/** Run `fn` over `items`, each client taking the next item when it is free. */
export async function inParallel<T>(
  clients: readonly Client[],
  items: readonly T[],
  fn: (client: Client, item: T) => Promise<unknown>,
): Promise<void> {
  const queue = [...items];
  let failed = false;
  const results = await Promise.allSettled(
    clients.map(async (client) => {
      for (let item = queue.shift(); item !== undefined && !failed; item = queue.shift()) {
        try {
          await fn(client, item);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
