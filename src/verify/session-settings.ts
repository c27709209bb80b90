import type { Client } from '../pg/connect.js';

/**
 * Settings pinned on every verify session, on both sides, so that a value renders to the same
 * text (and hashes the same) in the monolith and in a service database whatever their server
 * defaults are: time zone and date/interval styles change timestamp and interval output,
 * extra_float_digits float output, bytea_output bytea, lc_monetary money, and search_path the
 * rendering of reg* values and of type names from format_type (pg_catalog only: every user
 * object is written schema-qualified; pg_temp named last so that it is never searched first).
 * Anchor transactions stay idle for the whole verify, so the idle-in-transaction timeout is off;
 * enable_sort is turned off only around bucket aggregates (see route-sql.ts).
 */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '1',
  bytea_output: 'hex',
  lc_monetary: 'C',
  search_path: 'pg_catalog, pg_temp',
  standard_conforming_strings: 'on',
  xmloption: 'content',
  statement_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  lock_timeout: '0',
  work_mem: '64MB',
  // Every verify cursor is read to the end: plan for all rows, not for a fast first 10%.
  cursor_tuple_fraction: '1',
  // verify runs segments and both sides concurrently itself; parallel workers on top only add
  // process start-up and JIT per worker (measured slower on 2 cores).
  max_parallel_workers_per_gather: '0',
  // The row hashes are calls of hash functions that JIT cannot inline: compiling them costs 0.4–1 s
  // per query and saved nothing in measurements (a 5M-row aggregate: 3.5 s without, 4.1 s with).
  jit: 'off',
});

/** One `SET` per pinned setting, values bound through set_config (no quoting of values needed). */
export async function pinSessionSettings(client: Client): Promise<void> {
  const names = Object.keys(PINNED_SETTINGS);
  await client.query(`SELECT count(set_config(n, v, false)) FROM unnest($1::text[], $2::text[]) AS s(n, v)`, [
    names,
    names.map((n) => PINNED_SETTINGS[n]!),
  ]);
}
