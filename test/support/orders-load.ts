import { connect, type Client } from '../../src/pg/connect.js';

/** A small write load on `"Orders"(id, item, qty …)`: inserts, updates and deletes until stopped. */
export interface OrdersLoad {
  stop(): Promise<number>;
  readonly committed: number;
}

/**
 * Transactions of 1–5 statements against "Orders", naming only id, item and qty (so they work
 * before and after columns are added), `item` at most `itemLength()` characters long. Errors (a
 * lock wait ending with a DDL statement's rewrite, a duplicate id) roll the transaction back and
 * the loop goes on.
 */
export function startOrdersLoad(
  url: string,
  options: { itemLength?: () => number; pauseMs?: number; firstId?: number } = {},
): OrdersLoad {
  let stopping = false;
  let committed = 0;
  let nextId = options.firstId ?? 10_000;
  const loop = (async () => {
    let client: Client | undefined;
    while (!stopping) {
      try {
        client ??= await connect(url, { applicationName: 'orders load' });
        await client.query('BEGIN');
        const statements = 1 + Math.floor(Math.random() * 5);
        for (let i = 0; i < statements; i++) {
          const pick = Math.random();
          const item = 'x'.repeat(1 + Math.floor(Math.random() * (options.itemLength?.() ?? 10)));
          if (pick < 0.4) {
            await client.query(`INSERT INTO "Orders" (id, item, qty) VALUES ($1, $2, $3)`, [
              nextId++,
              item,
              i,
            ]);
          } else if (pick < 0.9) {
            await client.query(`UPDATE "Orders" SET qty = qty + 1, item = $2 WHERE id = $1`, [
              1 + Math.floor(Math.random() * 50),
              item,
            ]);
          } else {
            await client.query(`DELETE FROM "Orders" WHERE id = $1`, [
              nextId - 1 - Math.floor(Math.random() * 5),
            ]);
          }
        }
        await client.query('COMMIT');
        committed++;
        await new Promise((r) => setTimeout(r, options.pauseMs ?? 5));
      } catch {
        await client?.query('ROLLBACK').catch(() => {});
      }
    }
    await client?.end().catch(() => {});
  })();
  return {
    get committed() {
      return committed;
    },
    async stop() {
      stopping = true;
      await loop;
      return committed;
    },
  };
}
