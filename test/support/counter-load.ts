import { connect, withClient, type Client } from '../../src/pg/connect.js';

/**
 * The monolith schema and write load of the sync crash/resilience tests. Every update increments
 * `counter`, and rows are never deleted and re-inserted, so (id, counter) identifies one state of
 * one row: a target that logs every row it writes (see APPLY_LOG_SQL) may never log the same pair
 * twice — if it does, a source transaction was applied twice.
 */
export const COUNTER_MONOLITH = `
  CREATE TABLE accounts (id int PRIMARY KEY, counter int NOT NULL DEFAULT 0, owner text NOT NULL, note text);
  CREATE TABLE entries (id bigint PRIMARY KEY, account int NOT NULL, amount numeric(12,2), memo text);
  INSERT INTO accounts (id, owner, note) SELECT g, 'owner ' || g, repeat('n', g % 50) FROM generate_series(1, 2000) g;
  INSERT INTO entries SELECT g, g % 2000 + 1, g * 0.25, 'e' || g FROM generate_series(1, 5000) g;
`;

export const COUNTER_PLAN = `
services:
  ledger:
    database: ledger_db
    tables:
      accounts:
      entries:
  reporting:
    database: reporting_db
    tables: {}
projections:
  - from: accounts
    to: reporting.account_owners
    columns: [id, counter, owner]
`;

/**
 * Run in a service database as the admin: an always-firing trigger logging every (id, counter)
 * written to `table`. The admin's own code (SECURITY DEFINER, pinned search_path): carve refuses
 * tables carrying code a service could have written (docs/security.md).
 */
export function applyLogSql(table: string): string {
  return `
    CREATE TABLE IF NOT EXISTS apply_log (tbl text, id int, counter int);
    CREATE OR REPLACE FUNCTION log_apply() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      BEGIN INSERT INTO apply_log VALUES (TG_TABLE_NAME, NEW.id, NEW.counter); RETURN NEW; END $$;
    CREATE TRIGGER log_apply AFTER INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION log_apply();
    ALTER TABLE ${table} ENABLE ALWAYS TRIGGER log_apply;`;
}

/** (table, id, counter) states logged more than once: must be empty. */
export async function doubleApplied(url: string): Promise<unknown[]> {
  return withClient(
    url,
    async (c) =>
      (
        await c.query(
          'SELECT tbl, id, counter, count(*)::int AS n FROM apply_log GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 5',
        )
      ).rows,
  );
}

export interface CounterLoad {
  /** Stop writing; resolves with the number of committed transactions. */
  stop(): Promise<number>;
  readonly committed: number;
}

/**
 * Transactions of 1–20 statements (counter increments, new entries, memo updates), plus now and
 * then one large transaction (thousands of rows), until stopped. Survives monolith restarts.
 */
export function startCounterLoad(
  url: string,
  options: { largeEvery?: number; pauseMs?: number } = {},
): CounterLoad {
  let stopping = false;
  let committed = 0;
  let nextEntry = 1_000_000 + Math.floor(Math.random() * 1000) * 100_000;
  const loop = (async () => {
    let client: Client | undefined;
    while (!stopping) {
      try {
        client ??= await connect(url, { applicationName: 'counter load' });
        const n = committed + 1;
        await client.query('BEGIN');
        if (options.largeEvery && n % options.largeEvery === 0) {
          await client.query('UPDATE accounts SET counter = counter + 1 WHERE id % 3 = $1', [n % 3]);
          await client.query('UPDATE entries SET memo = memo || $1 WHERE id % 4 = $2', ['+', n % 4]);
        } else {
          const statements = 1 + Math.floor(Math.random() * 20);
          for (let i = 0; i < statements; i++) {
            const id = 1 + Math.floor(Math.random() * 2000);
            const pick = Math.random();
            if (pick < 0.6)
              await client.query('UPDATE accounts SET counter = counter + 1 WHERE id = $1', [id]);
            else if (pick < 0.8)
              await client.query('INSERT INTO entries VALUES ($1, $2, $3, $4)', [
                nextEntry++,
                id,
                i,
                `new ${n}`,
              ]);
            else await client.query('UPDATE entries SET memo = $1 WHERE account = $2', [`m${n}`, id]);
          }
        }
        await client.query('COMMIT');
        committed++;
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
        await new Promise((r) => setTimeout(r, 100));
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
