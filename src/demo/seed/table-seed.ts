import { quoteIdent, quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA } from '../caresync-tables.js';
import { resolveScratch } from './scratch-functions.js';

/**
 * How one table is generated: row n (1 … rows) of the table becomes one INSERTed row whose
 * columns are SQL expressions over `n`, the scratch functions (`sd.…`) and values derived per
 * row. Derived values are computed once per row in nested subqueries (one per stage, later
 * stages may use earlier ones); OFFSET 0 keeps PostgreSQL from folding them back into every
 * place they are used.
 */
export interface TableSeed {
  table: string;
  /** Column → expression, in insert order. */
  columns: Readonly<Record<string, string>>;
  derive?: readonly Readonly<Record<string, string>>[];
  /** Rows per INSERT: the unit of progress (default 200 000; smaller for wide rows). */
  slice?: number;
}

export const DEFAULT_SLICE = 200_000;

export { textArray } from './sql-literals.js';

/** The pools, fetched once per statement (an InitPlan) and detoasted once by the concatenation. */
export const TEXT_POOL = `(SELECT content || ''::bytea FROM sd.pool WHERE name = 'text')`;
export const TEXT_POOL_LENGTH = `(SELECT octet_length(content) FROM sd.pool WHERE name = 'text')`;
export const BYTE_POOL = `(SELECT content || ''::bytea FROM sd.pool WHERE name = 'bytes')`;
export const BYTE_POOL_LENGTH = 262_144;

/** Sum of the invoice's lines, computed from the same functions that generate invoice_items. */
export function invoiceTotal(invoice: string): string {
  return `(SELECT coalesce(sum(sd.item_qty(j) * sd.item_price(j)), 0)
             FROM generate_series(sd.item_start(${invoice}), sd.item_start(${invoice} + 1) - 1) AS j)`;
}

/** INSERT … SELECT for rows $1 … $2 of the table. */
export function insertSql(seed: TableSeed): string {
  const columns = Object.keys(seed.columns);
  let source = `generate_series($1::bigint, $2::bigint) AS g(n)`;
  let stage = 0;
  for (const derived of seed.derive ?? []) {
    const list = Object.entries(derived)
      .map(([name, expr]) => `${expr} AS ${quoteIdent(name)}`)
      .join(',\n         ');
    const inner = stage === 0 ? 'g.n' : `d${stage}.*`;
    stage++;
    source = `(SELECT ${inner},\n         ${list}\n    FROM ${source} OFFSET 0) AS d${stage}`;
  }
  const sql = `INSERT INTO ${quoteQualified(CARESYNC_SCHEMA, seed.table)} (${columns.map(quoteIdent).join(', ')})
  OVERRIDING SYSTEM VALUE
  SELECT ${Object.values(seed.columns).join(',\n         ')}
    FROM ${source}`;
  return resolveScratch(sql);
}
