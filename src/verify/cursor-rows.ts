import type { Client, QueryResultRow } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import type { Sql } from './route-sql.js';

let cursorNo = 0;

/**
 * Rows of a query, fetched through a server-side cursor `batch` rows at a time, so that a scan of
 * any size holds one batch in memory. The client must be inside a transaction (verify readers
 * always are: their snapshot is the transaction's). Closing the iterator early closes the cursor.
 */
export async function* cursorRows<T extends QueryResultRow>(
  client: Client,
  sql: Sql,
  batch = 2000,
): AsyncGenerator<T> {
  const name = quoteIdent(`carve_verify_${++cursorNo}`);
  await client.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql.text}`, sql.values);
  let open = true;
  try {
    for (;;) {
      const { rows } = await client.query<T>(`FETCH ${batch} FROM ${name}`);
      for (const row of rows) yield row;
      if (rows.length < batch) break;
    }
    await client.query(`CLOSE ${name}`);
    open = false;
  } finally {
    if (open) await client.query(`CLOSE ${name}`).catch(() => {});
  }
}
